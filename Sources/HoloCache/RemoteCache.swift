import Synchronization

/// A remote cache in the layout of Bazel's HTTP remote cache (bazel-remote, an nginx
/// WebDAV share, …): `GET`/`PUT {url}/cas/{sha256}` for blobs and `{url}/ac/{sha256}` for
/// action results.
///
/// A remote cache only ever saves time: every failure is a miss or a skipped upload. The
/// first failure to reach the server (refused, timed out, not speaking HTTP) disables the
/// remote for the rest of the process, so a dead server costs one timeout, and is reported
/// once through `warning`. A server that answers with an error status (404, 500) is a miss.
public final class RemoteCache: Sendable {
  /// The environment variable holding the remote cache's URL (`--cache-url` overrides it).
  public static let urlEnvironmentVariable = "HOLO_CACHE_URL"

  /// The URL as given.
  public let url: String
  private let client: HTTPClient
  private let warning: @Sendable (String) -> Void
  private let state = Mutex(State())

  private struct State {
    var isDisabled = false
    var hasWarnedOfRefusedUpload = false
  }

  /// A remote cache at `url` (`http://[user:password@]host[:port][/path]`; `https://` is
  /// refused, with a message saying so). `warning` receives the one line to show the user
  /// when the remote is disabled or refuses an upload; the cache prints nothing itself.
  public init(
    url: String, connectTimeout: Duration = .seconds(2), ioTimeout: Duration = .seconds(5),
    warning: @escaping @Sendable (String) -> Void
  ) throws(CacheError) {
    self.url = url
    client = HTTPClient(
      endpoint: try HTTPEndpoint(url: url), connectTimeout: connectTimeout, ioTimeout: ioTimeout)
    self.warning = warning
  }

  /// Whether a failure to reach the server has turned the remote off for this process.
  public var isDisabled: Bool { state.withLock { $0.isDisabled } }

  func action(_ key: ContentDigest) -> ActionResult? {
    get("/ac/\(key.hex)").flatMap(ActionResult.init(decoding:))
  }

  /// The blob named `digest`, if the server has it and it has that digest.
  func blob(_ digest: ContentDigest) -> [UInt8]? {
    guard let bytes = get("/cas/\(digest.hex)"), ContentDigest(of: bytes) == digest else {
      return nil
    }
    return bytes
  }

  /// Uploads an action result; false when it was not stored.
  @discardableResult
  func putAction(_ key: ContentDigest, _ result: ActionResult) -> Bool {
    put("/ac/\(key.hex)", result.encoded())
  }

  /// Uploads a blob; false when it was not stored.
  func putBlob(_ digest: ContentDigest, _ bytes: [UInt8]) -> Bool {
    put("/cas/\(digest.hex)", bytes)
  }

  private func get(_ path: String) -> [UInt8]? {
    guard let response = send("GET", path, body: nil), response.status == 200 else { return nil }
    return response.body
  }

  private func put(_ path: String, _ body: [UInt8]) -> Bool {
    guard let response = send("PUT", path, body: body) else { return false }
    if (200..<300).contains(response.status) { return true }
    let isFirstRefusal = state.withLock { state in
      defer { state.hasWarnedOfRefusedUpload = true }
      return !state.hasWarnedOfRefusedUpload
    }
    if isFirstRefusal {
      warning(
        "remote cache \(url) refused an upload (HTTP \(response.status)); builds go on without uploading to it"
      )
    }
    return false
  }

  private func send(_ method: String, _ path: String, body: [UInt8]?) -> HTTPResponse? {
    guard !isDisabled else { return nil }
    do {
      return try client.send(method, path, body: body)
    } catch {
      let isFirstFailure = state.withLock { state in
        defer { state.isDisabled = true }
        return !state.isDisabled
      }
      if isFirstFailure {
        warning(
          "remote cache \(url) is unusable (\(error.reason)); not using it for the rest of this run"
        )
      }
      return nil
    }
  }
}
