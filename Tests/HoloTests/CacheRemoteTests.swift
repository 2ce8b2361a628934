import Foundation
import Synchronization
import XCTest

@testable import HoloCache

/// The remote cache: URLs, the HTTP client, a real nginx WebDAV share started by
/// toolchain/nginx-cache.sh, and servers that are dead or never answer.
final class CacheRemoteTests: CacheTestCase {
  private func outputs(_ text: String) -> [CacheOutput] {
    [
      CacheOutput(name: "object", bytes: Array("object of \(text)".utf8)),
      CacheOutput(name: "analysis", bytes: Array(String(repeating: text, count: 300).utf8)),
    ]
  }

  /// The warnings a remote cache gave.
  private final class Warnings: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func add(_ line: String) { lines.withLock { $0.append(line) } }
  }

  // MARK: nginx

  /// Starts an nginx WebDAV share for this test (stopped when it ends) and returns its URL.
  private func startNginx() throws -> String {
    try NginxShare.start(in: directory + "/nginx", for: self)
  }

  /// How many requests of `method` for `/ac/` and `/cas/` nginx at `url` has logged. nginx logs a request just
  /// after answering it, so a marker request is sent and waited for first: its single
  /// worker logged every earlier request before it took the marker.
  private func nginxRequests(_ method: String, url: String) throws -> Int {
    let marker = "/marker-\(UUID().uuidString)"
    let client = HTTPClient(
      endpoint: try HTTPEndpoint(url: url), connectTimeout: .seconds(2), ioTimeout: .seconds(5))
    _ = try client.send("GET", marker)
    let deadline = Date().addingTimeInterval(10)
    while true {
      let log = try String(contentsOfFile: directory + "/nginx/access.log", encoding: .utf8)
      if log.contains(marker) || Date() > deadline {
        return log.split(separator: "\n").filter {
          $0.contains("\"\(method) /ac/") || $0.contains("\"\(method) /cas/")
        }.count
      }
      usleep(5000)
    }
  }

  func testTwoCleanCheckoutsTheSecondBuildsNothing() throws {
    let url = try startNginx()
    let warnings = Warnings()
    let first = BuildCache(
      directory: directory + "/first", remote: try RemoteCache(url: url, warning: warnings.add))
    let names = (0..<20).map { "function \($0)" }
    for name in names {
      XCTAssertNil(first.lookup(key(name)))
      first.store(key(name), outputs(name))
    }
    let uploads = try nginxRequests("PUT", url: url)
    XCTAssertEqual(uploads, 20 * 3, "two blobs and an action result per entry")

    let second = BuildCache(
      directory: directory + "/second", remote: try RemoteCache(url: url, warning: warnings.add))
    for name in names {
      XCTAssertEqual(second.lookup(key(name)), outputs(name), "a remote hit: \(name)")
    }
    XCTAssertEqual(
      try nginxRequests("PUT", url: url), uploads, "what was downloaded is not uploaded")
    XCTAssertEqual(second.stats().entries, 20 * 3, "remote hits are kept locally")
    let gets = try nginxRequests("GET", url: url)
    for name in names { XCTAssertEqual(second.lookup(key(name)), outputs(name)) }
    XCTAssertEqual(try nginxRequests("GET", url: url), gets, "a local hit asks the remote nothing")
    XCTAssertEqual(warnings.all, [])

    // The action result is what Bazel's remote cache expects under /ac/.
    let stored = try Data(
      contentsOf: URL(fileURLWithPath: "\(directory)/nginx/data/ac/\(key(names[0]).digest.hex)"))
    XCTAssertEqual(ActionResult(decoding: Array(stored)), ActionResult(outputs: outputs(names[0])))
  }

  func testMissingAndFailingAnswersAreMisses() throws {
    let url = try startNginx()
    let warnings = Warnings()
    let remote = try RemoteCache(url: url, warning: warnings.add)
    let cache = BuildCache(directory: directory + "/local", remote: remote)
    XCTAssertNil(cache.lookup(key("absent")), "404")
    XCTAssertFalse(remote.isDisabled)

    let failing = try RemoteCache(url: url + "/error-500", warning: warnings.add)
    let behindFailing = BuildCache(directory: directory + "/failing", remote: failing)
    XCTAssertNil(behindFailing.lookup(key("a")), "500")
    behindFailing.store(key("a"), outputs("a"))
    behindFailing.store(key("b"), outputs("b"))
    XCTAssertEqual(behindFailing.lookup(key("a")), outputs("a"), "the local store still works")
    XCTAssertFalse(failing.isDisabled, "a server that answers is not disabled")
    XCTAssertEqual(warnings.all.count, 1, "\(warnings.all)")
    XCTAssertTrue(warnings.all.first?.contains("refused an upload (HTTP 500)") ?? false)
  }

  func testADamagedRemoteBlobIsAMiss() throws {
    let url = try startNginx()
    let writer = BuildCache(
      directory: directory + "/writer", remote: try RemoteCache(url: url, warning: { _ in }))
    writer.store(key("a"), outputs("a"))
    let blob = ContentDigest(of: outputs("a")[0].bytes)
    try Data("something else".utf8).write(
      to: URL(fileURLWithPath: "\(directory)/nginx/data/cas/\(blob.hex)"))
    let reader = BuildCache(
      directory: directory + "/reader", remote: try RemoteCache(url: url, warning: { _ in }))
    XCTAssertNil(reader.lookup(key("a")))
    XCTAssertEqual(reader.stats().entries, 0, "nothing of a damaged entry is kept")
  }

  // MARK: Dead servers

  /// A port on loopback that nothing listens on.
  private func closedPort() throws -> UInt16 {
    let listener = try LoopbackListener()
    let port = listener.port
    listener.close()
    return port
  }

  func testARefusedConnectionDisablesTheRemoteWithOneWarning() throws {
    let warnings = Warnings()
    let remote = try RemoteCache(url: "http://127.0.0.1:\(try closedPort())", warning: warnings.add)
    let cache = BuildCache(directory: directory, remote: remote)
    for name in ["a", "b", "c"] {
      XCTAssertNil(cache.lookup(key(name)))
      cache.store(key(name), outputs(name))
      XCTAssertEqual(cache.lookup(key(name)), outputs(name))
    }
    XCTAssertTrue(remote.isDisabled)
    XCTAssertEqual(warnings.all.count, 1, "\(warnings.all)")
    XCTAssertTrue(warnings.all[0].contains("Connection refused"), warnings.all[0])
  }

  func testAServerThatNeverAnswersCostsOneTimeout() throws {
    // The kernel accepts connections into the listen queue; nobody ever reads them.
    let listener = try LoopbackListener()
    defer { listener.close() }
    let warnings = Warnings()
    let timeout = Duration.seconds(1)
    let remote = try RemoteCache(
      url: "http://127.0.0.1:\(listener.port)", ioTimeout: timeout, warning: warnings.add)
    let cache = BuildCache(directory: directory, remote: remote)
    let clock = ContinuousClock()
    let elapsed = clock.measure {
      for name in ["a", "b", "c", "d"] {
        XCTAssertNil(cache.lookup(key(name)))
        cache.store(key(name), outputs(name))
      }
    }
    XCTAssertTrue(remote.isDisabled)
    XCTAssertEqual(warnings.all.count, 1, "\(warnings.all)")
    XCTAssertTrue(warnings.all[0].contains("no answer within 1.0 s"), warnings.all[0])
    XCTAssertGreaterThanOrEqual(elapsed, timeout)
    // Eight requests; one timeout disables the remote, so far less than eight timeouts.
    XCTAssertLessThan(elapsed, timeout * 4, "one timeout, not one per request")
  }

  // MARK: URLs and HTTP

  func testURLs() throws {
    let plain = try HTTPEndpoint(url: "http://cache.example:9090/team/holo/")
    XCTAssertEqual(plain.host, "cache.example")
    XCTAssertEqual(plain.port, 9090)
    XCTAssertEqual(plain.basePath, "/team/holo")
    XCTAssertNil(plain.authorization)
    XCTAssertEqual(plain.hostHeader, "cache.example:9090")
    let bare = try HTTPEndpoint(url: "HTTP://cache")
    XCTAssertEqual(bare.port, 80)
    XCTAssertEqual(bare.basePath, "")
    XCTAssertEqual(bare.hostHeader, "cache")
    let ipv6 = try HTTPEndpoint(url: "http://[::1]:8080")
    XCTAssertEqual(ipv6.host, "::1")
    XCTAssertEqual(ipv6.hostHeader, "[::1]:8080")
    let credentials = try HTTPEndpoint(url: "http://user:p%40ss@cache/")
    XCTAssertEqual(
      credentials.authorization, "Basic " + Data("user:p@ss".utf8).base64EncodedString())
    XCTAssertEqual(credentials.host, "cache")

    XCTAssertThrowsError(try RemoteCache(url: "https://cache:9090", warning: { _ in })) {
      XCTAssertTrue("\($0)".contains("https:// is not supported, only http://"), "\($0)")
    }
    for url in [
      "cache:9090", "ftp://cache", "http://", "http://cache:0", "http://cache:x", "http://c/?q",
    ] {
      XCTAssertThrowsError(try HTTPEndpoint(url: url), url)
    }
  }

  func testTheClientReadsChunkedAndLengthBodiesOverOneConnection() throws {
    let listener = try LoopbackListener()
    defer { listener.close() }
    let responses = [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: t\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!",
      "HTTP/1.0 200 OK\r\n\r\nuntil the end",
    ]
    let served = DispatchGroup()
    DispatchQueue.global().async(group: served) { listener.serve(responses) }
    let client = HTTPClient(
      endpoint: try HTTPEndpoint(url: "http://127.0.0.1:\(listener.port)/base"),
      connectTimeout: .seconds(2), ioTimeout: .seconds(5))
    let chunked = try client.send("GET", "/cas/1")
    XCTAssertEqual(chunked.status, 200)
    XCTAssertEqual(String(decoding: chunked.body, as: UTF8.self), "hello, world")
    let missing = try client.send("PUT", "/ac/2", body: Array("body".utf8))
    XCTAssertEqual(missing.status, 404)
    XCTAssertEqual(String(decoding: missing.body, as: UTF8.self), "no!")
    let toTheEnd = try client.send("GET", "/cas/3")
    XCTAssertEqual(String(decoding: toTheEnd.body, as: UTF8.self), "until the end")
    served.wait()
    XCTAssertEqual(
      listener.requestLines,
      ["GET /base/cas/1 HTTP/1.1", "PUT /base/ac/2 HTTP/1.1", "GET /base/cas/3 HTTP/1.1"])
    XCTAssertEqual(listener.connections, 1, "kept alive")
  }

  func testARequestOnAConnectionTheServerClosedIsSentAgain() throws {
    let listener = try LoopbackListener()
    defer { listener.close() }
    let responses = (1...3).map { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\($0)" }
    let served = DispatchGroup()
    DispatchQueue.global().async(group: served) { listener.serve(responses, closingEach: true) }
    let client = HTTPClient(
      endpoint: try HTTPEndpoint(url: "http://127.0.0.1:\(listener.port)"),
      connectTimeout: .seconds(2), ioTimeout: .seconds(5))
    for expected in ["1", "2", "3"] {
      XCTAssertEqual(
        String(decoding: try client.send("GET", "/cas/x").body, as: UTF8.self), expected)
    }
    served.wait()
    XCTAssertEqual(listener.connections, 3)
  }
}

/// A TCP socket listening on a free loopback port, which can serve canned responses.
private final class LoopbackListener: Sendable {
  let socket: Int32
  let port: UInt16
  private let log = Mutex<(requestLines: [String], connections: Int)>(([], 0))

  init() throws {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    self.socket = socket
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(socket, $0, length) == 0 && listen(socket, 16) == 0
          && getsockname(socket, $0, &length) == 0
      }
    }
    guard bound else { throw CocoaError(.fileWriteUnknown) }
    port = UInt16(bigEndian: address.sin_port)
  }

  var requestLines: [String] { log.withLock { $0.requestLines } }
  var connections: Int { log.withLock { $0.connections } }

  func close() { Glibc.close(socket) }

  /// Accepts connections and answers each request (its head, then as many body bytes as
  /// its Content-Length says) with the next of `responses`, until they are all sent;
  /// with `closingEach`, it closes each connection after one response, as a server does
  /// with an idle kept-alive one.
  func serve(_ responses: [String], closingEach: Bool = false) {
    var remaining = responses[...]
    while !remaining.isEmpty {
      let connection = accept(socket, nil, nil)
      guard connection >= 0 else { return }
      log.withLock { $0.connections += 1 }
      var received: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 4096)
      while let response = remaining.first {
        let count = recv(connection, &buffer, buffer.count, 0)
        guard count > 0 else { break }
        received += buffer[0..<count]
        let text = String(decoding: received, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { continue }
        let head = text[..<headEnd.lowerBound]
        let length =
          head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
          .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let headBytes = text[..<headEnd.upperBound].utf8.count
        guard received.count >= headBytes + length else { continue }
        log.withLock { $0.requestLines.append(String(head.split(separator: "\r\n")[0])) }
        received.removeFirst(headBytes + length)
        _ = Array(response.utf8).withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
        remaining.removeFirst()
        if closingEach { break }
      }
      Glibc.close(connection)
    }
  }
}
