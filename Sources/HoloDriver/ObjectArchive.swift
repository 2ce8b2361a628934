/// The objects of a program (a dev build's chunks and glue, or a release build's one
/// object) as one `ar` archive that holoc writes itself, so that linking a program of
/// hundreds of chunks creates one file, not one per chunk, and needs no response file.
///
/// The archive has no symbol index: it is always linked whole (`--whole-archive`), which
/// GNU ld, gold and lld all do without one, and every member is the program's anyway.
enum ObjectArchive {
  /// The archive of `objects`, in order.
  static func bytes(of objects: [[UInt8]]) -> [UInt8] {
    var archive = Array("!<arch>\n".utf8)
    archive.reserveCapacity(archive.count + objects.reduce(0) { $0 + 61 + $1.count })
    for (index, object) in objects.enumerated() {
      // The System V header: name (ended by `/`), date, owner, group, mode, size, magic,
      // each field padded with spaces. Names of up to 15 characters fit in the header.
      let fields = [
        ("\(index).o/", 16), ("0", 12), ("0", 6), ("0", 6), ("644", 8), ("\(object.count)", 10),
      ]
      for (value, width) in fields {
        archive +=
          Array(value.utf8) + Array(repeating: UInt8(ascii: " "), count: width - value.utf8.count)
      }
      archive += Array("`\n".utf8)
      archive += object
      // Members start at even offsets.
      if object.count % 2 == 1 { archive.append(UInt8(ascii: "\n")) }
    }
    return archive
  }

  /// What links every member of the archive at `path`, in order.
  static func linkArguments(_ path: String) -> [String] {
    ["-Wl,--whole-archive", path, "-Wl,--no-whole-archive"]
  }
}
