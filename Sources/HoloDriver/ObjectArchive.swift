import Glibc

/// The objects of a program (a dev build's chunks and glue, or a release build's one
/// object) as one `ar` archive that holoc writes itself, so that linking a program of
/// hundreds of chunks creates one file, not one per chunk, and needs no response file.
///
/// The archive has no symbol index: it is always linked whole (`--whole-archive`), which
/// GNU ld, gold and lld all do without one, and every member is the program's anyway.
enum ObjectArchive {
  /// Writes the archive of `objects`, in order, to a new file at `path`; false when it
  /// cannot. Member by member, straight from the objects: a dev build's are tens of
  /// megabytes, which an archive assembled in memory would copy again.
  static func write(_ objects: [[UInt8]], to path: String) -> Bool {
    let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard file >= 0 else { return false }
    defer { close(file) }
    guard writeAll(file, Array("!<arch>\n".utf8)) else { return false }
    for (index, object) in objects.enumerated() {
      guard writeAll(file, header(name: "\(index).o/", size: object.count)),
        writeAll(file, object)
      else { return false }
      // Members start at even offsets.
      if object.count % 2 == 1 && !writeAll(file, [UInt8(ascii: "\n")]) { return false }
    }
    return true
  }

  /// A member's System V header: name (ended by `/`), date, owner, group, mode, size,
  /// magic, each field padded with spaces. Names of up to 15 characters fit in it.
  private static func header(name: String, size: Int) -> [UInt8] {
    var header: [UInt8] = []
    header.reserveCapacity(60)
    for (value, width) in [(name, 16), ("0", 12), ("0", 6), ("0", 6), ("644", 8), ("\(size)", 10)] {
      header +=
        Array(value.utf8) + Array(repeating: UInt8(ascii: " "), count: width - value.utf8.count)
    }
    return header + Array("`\n".utf8)
  }

  private static func writeAll(_ file: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let count = Glibc.write(file, buffer.baseAddress! + offset, buffer.count - offset)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return false }
        offset += count
      }
      return true
    }
  }

  /// What links every member of the archive at `path`, in order.
  static func linkArguments(_ path: String) -> [String] {
    ["-Wl,--whole-archive", path, "-Wl,--no-whole-archive"]
  }
}
