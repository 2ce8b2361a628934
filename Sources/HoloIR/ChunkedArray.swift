/// An array whose copies share their elements in chunks of 256: writing one element of a
/// copy copies one chunk, not the array. What the program database hands out edit after
/// edit (a program's functions, an index over them) is shared with the version before it,
/// so a save costs per changed element, not per element.
public struct ChunkedArray<Element>: RandomAccessCollection, MutableCollection {
  // Inlinable, so other modules get it specialised for their element types (a generic
  // call per element access would cost more than the copies it saves).
  @usableFromInline static var chunkShift: Int { 8 }
  @usableFromInline static var chunkMask: Int { (1 << chunkShift) - 1 }

  @usableFromInline var chunks: [[Element]] = []
  @usableFromInline var storedCount = 0
  @inlinable public var count: Int { storedCount }

  @inlinable public init() {}

  @inlinable public init(_ elements: some Sequence<Element>) {
    for element in elements { append(element) }
  }

  @inlinable public init(repeating element: Element, count: Int) {
    for _ in 0..<count { append(element) }
  }

  @inlinable public var startIndex: Int { 0 }
  @inlinable public var endIndex: Int { count }

  // Borrowed and modified in place: reading a field of an element costs no copy of it.
  @inlinable public subscript(position: Int) -> Element {
    _read {
      precondition(position >= 0 && position < count, "index out of range")
      yield chunks[position >> Self.chunkShift][position & Self.chunkMask]
    }
    _modify {
      precondition(position >= 0 && position < count, "index out of range")
      yield &chunks[position >> Self.chunkShift][position & Self.chunkMask]
    }
  }

  @inlinable public mutating func append(_ element: Element) {
    if count & Self.chunkMask == 0 {
      chunks.append([])
      chunks[chunks.count - 1].reserveCapacity(1 << Self.chunkShift)
    }
    chunks[chunks.count - 1].append(element)
    storedCount += 1
  }

  /// Grows to `count` elements, the new ones `element`.
  @inlinable public mutating func pad(to count: Int, with element: Element) {
    while self.count < count { append(element) }
  }

  @inlinable public mutating func removeLast(_ k: Int = 1) {
    precondition(k >= 0 && k <= count, "cannot remove more elements than there are")
    for _ in 0..<k {
      chunks[chunks.count - 1].removeLast()
      if chunks[chunks.count - 1].isEmpty { chunks.removeLast() }
      storedCount -= 1
    }
  }
}

extension ChunkedArray: Sendable where Element: Sendable {}
