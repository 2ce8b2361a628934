import HoloCache
import HoloSema

/// The body records of a root's last analysis (`BodyRecord`), kept in the build cache
/// under the compiler and the root as given: the next holoc process on that root checks
/// only the bodies whose text or names changed. Not under the current folder: each record
/// is keyed by its body's own path, text and signature, so records made in another
/// checkout (a CI runner's, through a remote cache) are right wherever their keys match.
/// A record file that does not decode whole (torn, corrupt) counts as none; the analysis
/// then checks everything and stores a good one.
public struct BodyRecordCache: Sendable {
  private let cache: BuildCache
  private let key: CacheKey
  /// What the cache held, decoded.
  public let loaded: [BodyRecord]

  init(cache: BuildCache, root: String) {
    var builder = CacheKey.Builder(kind: "body-records")
    for (label, value) in CompilerIdentity.parts { builder.add(label, value) }
    builder.add("root", root)
    self.cache = cache
    key = builder.key
    loaded =
      cache.lookup(key)?.first(where: { $0.name == "records" }).flatMap {
        BodyRecords.decode($0.bytes)
      } ?? []
  }

  /// Stores `records` (a database's `bodyRecords`) when they differ from what was loaded.
  public func store(_ records: [BodyRecord]) {
    guard records != loaded else { return }
    cache.store(key, [CacheOutput(name: "records", bytes: BodyRecords.encode(records))])
  }
}

extension Driver {
  /// The body records of the last analysis of `root` (`holoc dev` starts from them).
  public func bodyRecordCache(root: String) -> BodyRecordCache {
    BodyRecordCache(cache: openCache(), root: root)
  }
}
