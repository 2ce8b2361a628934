import Foundation

/// The objects of a program (a dev build's chunks and glue, or a release build's one
/// object) as one thin `ar` archive: a list of the object files by name, which holoc
/// writes itself, so that linking a program of hundreds of chunks needs no command line of
/// hundreds of paths nor a response file, and no object's bytes are copied into it (the
/// files are hard links into the build cache: `Driver.devObjects`).
///
/// The archive has no symbol index: it is always linked whole (`--whole-archive`), which
/// GNU ld, gold and lld all do without one, and every member is the program's anyway.
enum ObjectArchive {
  /// Writes the thin archive of `objects`, in order, to a new file at `path`, which must be
  /// in the objects' folder (members are named relative to it); false when it cannot.
  static func write(_ objects: [String], to path: String) -> Bool {
    // The names table: each member's name ended by "/\n", padded to an even length.
    var names: [UInt8] = []
    var members: [(offset: Int, size: Int)] = []
    for object in objects {
      var info = stat()
      guard stat(object, &info) == 0 else { return false }
      members.append((names.count, Int(info.st_size)))
      names += Array(object.split(separator: "/").last!.utf8) + Array("/\n".utf8)
    }
    if names.count % 2 == 1 { names.append(UInt8(ascii: "\n")) }
    var archive = Array("!<thin>\n".utf8) + header(name: "//", size: names.count) + names
    for member in members { archive += header(name: "/\(member.offset)", size: member.size) }
    // A few bytes per member: written whole.
    return FileManager.default.createFile(atPath: path, contents: Data(archive))
  }

  /// A member's System V header: name, date, owner, group, mode, size, magic, each field
  /// padded with spaces.
  private static func header(name: String, size: Int) -> [UInt8] {
    var header: [UInt8] = []
    header.reserveCapacity(60)
    for (value, width) in [(name, 16), ("0", 12), ("0", 6), ("0", 6), ("644", 8), ("\(size)", 10)] {
      header +=
        Array(value.utf8) + Array(repeating: UInt8(ascii: " "), count: width - value.utf8.count)
    }
    return header + Array("`\n".utf8)
  }

  /// What links every member of the archive at `path`, in order.
  static func linkArguments(_ path: String) -> [String] {
    ["-Wl,--whole-archive", path, "-Wl,--no-whole-archive"]
  }
}
