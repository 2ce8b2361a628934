import HoloCache

extension Driver {
  /// The build cache: the local store (`$HOLO_CACHE_DIR`, else under `~/.cache/holo`) in
  /// front of the remote one at `--cache-url` or `$HOLO_CACHE_URL`, if any. A cache only
  /// ever saves time, so a misconfigured one is a warning on stderr, never a failure.
  func openCache() -> BuildCache {
    let warn = { @Sendable (message: String) in
      StandardStream.error.write("warning: \(message)\n")
    }
    var sizeLimit = BuildCache.defaultSizeLimit
    do throws(CacheError) {
      sizeLimit = try BuildCache.sizeLimit(environment: environment)
    } catch {
      warn("\(error); using the default size limit")
    }
    var remote: RemoteCache?
    if let url = cacheURL ?? environment[RemoteCache.urlEnvironmentVariable], !url.isEmpty {
      do throws(CacheError) {
        remote = try RemoteCache(url: url, warning: warn)
      } catch {
        warn("\(error); using the local cache only")
      }
    }
    return BuildCache(
      directory: BuildCache.directory(environment: environment), sizeLimit: sizeLimit,
      remote: remote)
  }
}
