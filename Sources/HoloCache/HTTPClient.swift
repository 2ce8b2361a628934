import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Where an `http://` remote cache is: host, port, the path its `/ac/` and `/cas/` are under,
/// and the credentials the URL carried.
struct HTTPEndpoint: Equatable {
  var host: String
  var port: UInt16
  /// Empty, or a path starting with `/` and not ending with one.
  var basePath: String
  /// The `Authorization` header for `user:password@` in the URL.
  var authorization: String?

  /// Parses `http://[user:password@]host[:port][/path]`. Anything else is refused with a
  /// message saying why, `https://` among them: holoc speaks plain HTTP only, since TLS
  /// would need a library that a bare machine may lack.
  init(url: String) throws(CacheError) {
    guard let separator = url.range(of: "://") else {
      throw CacheError("remote cache URL `\(url)` must start with http://")
    }
    let scheme = url[..<separator.lowerBound].lowercased()
    if scheme == "https" {
      throw CacheError(
        "remote cache URL `\(url)`: https:// is not supported, only http:// (put a TLS-terminating proxy in front of the cache if it must be reached over TLS)"
      )
    }
    guard scheme == "http" else {
      throw CacheError("remote cache URL `\(url)` must start with http://, not \(scheme)://")
    }
    let rest = url[separator.upperBound...]
    guard !rest.contains("?") && !rest.contains("#") else {
      throw CacheError("remote cache URL `\(url)` cannot have a query or a fragment")
    }
    var authority = rest.prefix { $0 != "/" }
    var path = String(rest.dropFirst(authority.count))
    while path.hasSuffix("/") { path.removeLast() }
    basePath = path
    if let at = authority.lastIndex(of: "@") {
      let credentials = String(authority[..<at]).removingPercentEncoding ?? ""
      authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
      authority = authority[authority.index(after: at)...]
    }
    var portText: Substring?
    if authority.hasPrefix("[") {
      guard let close = authority.firstIndex(of: "]") else {
        throw CacheError("remote cache URL `\(url)` has an unclosed `[` in its host")
      }
      host = String(authority[authority.index(after: authority.startIndex)..<close])
      let afterHost = authority[authority.index(after: close)...]
      if afterHost.hasPrefix(":") { portText = afterHost.dropFirst() }
    } else if let colon = authority.lastIndex(of: ":") {
      host = String(authority[..<colon])
      portText = authority[authority.index(after: colon)...]
    } else {
      host = String(authority)
    }
    guard !host.isEmpty else { throw CacheError("remote cache URL `\(url)` has no host") }
    if let portText {
      guard let port = UInt16(portText), port > 0 else {
        throw CacheError("remote cache URL `\(url)` has an invalid port `\(portText)`")
      }
      self.port = port
    } else {
      port = 80
    }
  }

  /// The `Host` header's value.
  var hostHeader: String {
    (host.contains(":") ? "[\(host)]" : host) + (port == 80 ? "" : ":\(port)")
  }
}

/// Why an HTTP exchange produced no response: the server is unreachable, too slow, or
/// does not speak HTTP. Each of these makes the remote cache useless for the run.
struct HTTPTransportError: Error {
  var reason: String
  /// The server did not answer within the I/O timeout.
  var isTimeout = false
  /// The connection was a kept-alive one that the server had closed before this request;
  /// a new connection may well succeed.
  var isStaleConnection = false
}

struct HTTPResponse {
  var status: Int
  var body: [UInt8]
}

/// A small HTTP/1.1 client over POSIX sockets: one request at a time per connection,
/// idle connections kept alive for the next request, bodies by `Content-Length`, chunked
/// or up to the end of the connection. It deliberately avoids FoundationNetworking, which
/// needs libcurl at load time.
final class HTTPClient: Sendable {
  let endpoint: HTTPEndpoint
  private let connectTimeout: Duration
  private let ioTimeout: Duration
  private let idleConnections = Mutex<[Int32]>([])

  /// The largest response body accepted; a bigger one is a misbehaving server.
  private static let maximumBodySize = 1 << 32

  init(endpoint: HTTPEndpoint, connectTimeout: Duration, ioTimeout: Duration) {
    self.endpoint = endpoint
    self.connectTimeout = connectTimeout
    self.ioTimeout = ioTimeout
  }

  deinit {
    for socket in idleConnections.withLock({ $0 }) { close(socket) }
  }

  /// Sends `method path` with `body` and returns the response. `path` is relative to the
  /// endpoint's base path. Throws when there is no response: a server that cannot be
  /// reached, stops answering for `ioTimeout`, or answers something that is not HTTP.
  func send(_ method: String, _ path: String, body: [UInt8]? = nil) throws(HTTPTransportError)
    -> HTTPResponse
  {
    var request = "\(method) \(endpoint.basePath)\(path) HTTP/1.1\r\n"
    request += "Host: \(endpoint.hostHeader)\r\nUser-Agent: holoc\r\n"
    if let authorization = endpoint.authorization {
      request += "Authorization: \(authorization)\r\n"
    }
    if let body {
      request += "Content-Type: application/octet-stream\r\nContent-Length: \(body.count)\r\n"
    }
    let message = Array((request + "\r\n").utf8) + (body ?? [])
    if let socket = idleConnections.withLock({ $0.popLast() }) {
      do {
        return try exchange(on: socket, message, method: method, reused: true)
      } catch  where error.isStaleConnection {
        // The server closed the idle connection; the request goes out on a new one.
      }
    }
    return try exchange(on: try connect(), message, method: method, reused: false)
  }

  /// Sends `message` on `socket` and reads the response; the socket is kept for the next
  /// request when both sides allow it, closed otherwise.
  private func exchange(on socket: Int32, _ message: [UInt8], method: String, reused: Bool)
    throws(HTTPTransportError) -> HTTPResponse
  {
    var connection = Connection(socket: socket, timeout: milliseconds(ioTimeout))
    do {
      try connection.write(message)
      let (response, keepAlive) = try readResponse(&connection, method: method)
      if keepAlive {
        idleConnections.withLock { $0.append(socket) }
      } else {
        close(socket)
      }
      return response
    } catch {
      close(socket)
      // A server that is silent, rather than gone, is not asked again: it costs one timeout.
      throw HTTPTransportError(
        reason: error.reason,
        isStaleConnection: reused && !connection.hasReceived && !error.isTimeout)
    }
  }

  private func readResponse(_ connection: inout Connection, method: String)
    throws(HTTPTransportError) -> (HTTPResponse, keepAlive: Bool)
  {
    while true {
      let statusLine = try connection.readLine()
      let fields = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
      guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let status = Int(fields[1]),
        (100...999).contains(status)
      else { throw HTTPTransportError(reason: "not an HTTP response: `\(statusLine.prefix(80))`") }
      var headers: [String: String] = [:]
      while true {
        let line = try connection.readLine()
        if line.isEmpty { break }
        guard let colon = line.firstIndex(of: ":") else {
          throw HTTPTransportError(reason: "malformed HTTP header line")
        }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
          .trimmingCharacters(in: .whitespaces)
      }
      // An interim response (100 Continue) precedes the real one.
      if status < 200 { continue }
      let connectionHeader = headers["connection"]?.lowercased() ?? ""
      var keepAlive =
        fields[0] == "HTTP/1.1"
        ? !connectionHeader.contains("close") : connectionHeader.contains("keep-alive")
      var body: [UInt8] = []
      if method == "HEAD" || status == 204 || status == 304 {
        // No body.
      } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
        body = try readChunkedBody(&connection)
      } else if let lengthText = headers["content-length"] {
        guard let length = Int(lengthText), length >= 0, length <= Self.maximumBodySize else {
          throw HTTPTransportError(reason: "invalid Content-Length `\(lengthText)`")
        }
        body = try connection.read(count: length)
      } else {
        body = try connection.readToEnd(limit: Self.maximumBodySize)
        keepAlive = false
      }
      return (HTTPResponse(status: status, body: body), keepAlive)
    }
  }

  private func readChunkedBody(_ connection: inout Connection) throws(HTTPTransportError)
    -> [UInt8]
  {
    var body: [UInt8] = []
    while true {
      let sizeLine = try connection.readLine()
      let sizeText = sizeLine.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces)
      guard let size = Int(sizeText, radix: 16), size >= 0,
        body.count + size <= Self.maximumBodySize
      else { throw HTTPTransportError(reason: "invalid chunk size `\(sizeLine.prefix(20))`") }
      if size == 0 { break }
      body += try connection.read(count: size)
      guard try connection.readLine().isEmpty else {
        throw HTTPTransportError(reason: "chunk not followed by CRLF")
      }
    }
    // Trailer fields, up to the empty line.
    while try !connection.readLine().isEmpty {}
    return body
  }

  /// A connected, non-blocking socket to the endpoint, trying each of its addresses within
  /// the connect timeout.
  private func connect() throws(HTTPTransportError) -> Int32 {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var addresses: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &addresses)
    guard status == 0, let addresses else {
      throw HTTPTransportError(
        reason: "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(addresses) }
    let deadline = ContinuousClock.now + connectTimeout
    var reason = "no address"
    var next: UnsafeMutablePointer<addrinfo>? = addresses
    while let address = next {
      next = address.pointee.ai_next
      let socket = Glibc.socket(
        address.pointee.ai_family,
        Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
        address.pointee.ai_protocol)
      guard socket >= 0 else {
        reason = errorText()
        continue
      }
      if Glibc.connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0
        || (errno == EINPROGRESS && waitForConnection(socket, until: deadline, reason: &reason))
      {
        var noDelay: Int32 = 1
        setsockopt(
          socket, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        return socket
      }
      if errno != EINPROGRESS { reason = errorText() }
      close(socket)
    }
    throw HTTPTransportError(
      reason: "cannot connect to \(endpoint.hostHeader): \(reason)")
  }

  private func waitForConnection(
    _ socket: Int32, until deadline: ContinuousClock.Instant, reason: inout String
  ) -> Bool {
    var poller = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
    let ready = poll(&poller, 1, milliseconds(max(deadline - ContinuousClock.now, .zero)))
    guard ready > 0 else {
      reason = ready == 0 ? "timed out after \(connectTimeout)" : errorText()
      return false
    }
    var error: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length)
    if error != 0 { reason = String(cString: strerror(error)) }
    return error == 0
  }
}

/// One connection's socket with its read buffer; every wait for the socket is bounded by
/// the I/O timeout.
private struct Connection {
  let socket: Int32
  let timeout: Int32
  private var buffer: [UInt8] = []
  private var start = 0
  /// Whether any byte of a response came back.
  private(set) var hasReceived = false

  /// Header lines longer than this are a misbehaving server.
  private static let maximumLineLength = 64 * 1024

  init(socket: Int32, timeout: Int32) {
    self.socket = socket
    self.timeout = timeout
  }

  mutating func write(_ bytes: [UInt8]) throws(HTTPTransportError) {
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeBytes {
        Glibc.send(socket, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
      }
      if count > 0 {
        offset += count
      } else if errno == EAGAIN || errno == EINTR {
        try wait(for: POLLOUT)
      } else {
        throw HTTPTransportError(reason: "cannot send: \(errorText())")
      }
    }
  }

  /// The next line, without its CRLF (or bare LF).
  mutating func readLine() throws(HTTPTransportError) -> String {
    var searched = start
    while true {
      if let newline = buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
        var end = newline
        if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = String(decoding: buffer[start..<end], as: UTF8.self)
        start = newline + 1
        return line
      }
      searched = buffer.count
      guard buffer.count - start < Self.maximumLineLength else {
        throw HTTPTransportError(reason: "HTTP header line too long")
      }
      guard try fill() else { throw HTTPTransportError(reason: "connection closed by the server") }
    }
  }

  mutating func read(count: Int) throws(HTTPTransportError) -> [UInt8] {
    while buffer.count - start < count {
      guard try fill() else {
        throw HTTPTransportError(reason: "connection closed in the middle of a response")
      }
    }
    let bytes = Array(buffer[start..<start + count])
    start += count
    return bytes
  }

  mutating func readToEnd(limit: Int) throws(HTTPTransportError) -> [UInt8] {
    while try fill() {
      guard buffer.count - start <= limit else {
        throw HTTPTransportError(reason: "response body too large")
      }
    }
    let bytes = Array(buffer[start...])
    start = buffer.count
    return bytes
  }

  /// Reads what the socket has into the buffer; false at the end of the connection.
  private mutating func fill() throws(HTTPTransportError) -> Bool {
    if start > 0 && start == buffer.count {
      buffer.removeAll(keepingCapacity: true)
      start = 0
    }
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
      if count > 0 {
        hasReceived = true
        buffer += chunk[0..<count]
        return true
      }
      if count == 0 { return false }
      if errno == EAGAIN || errno == EINTR {
        try wait(for: POLLIN)
      } else {
        throw HTTPTransportError(reason: "cannot receive: \(errorText())")
      }
    }
  }

  private func wait(for event: Int32) throws(HTTPTransportError) {
    var poller = pollfd(fd: socket, events: Int16(event), revents: 0)
    let ready = poll(&poller, 1, timeout)
    if ready == 0 {
      throw HTTPTransportError(
        reason: "no answer within \(Double(timeout) / 1000) s", isTimeout: true)
    }
    if ready < 0 && errno != EINTR { throw HTTPTransportError(reason: errorText()) }
  }
}

private func milliseconds(_ duration: Duration) -> Int32 {
  let (seconds, attoseconds) = duration.components
  return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
}
