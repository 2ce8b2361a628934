// swift-tools-version: 6.0
import PackageDescription

// LLVM 19 from Debian's llvm-19-dev (installed by toolchain/setup.sh).
let llvmPrefix = "/usr/lib/llvm-19"
let llvmSwiftSettings: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])]
let llvmLinkerSettings: [LinkerSetting] = [
  .unsafeFlags(["-L\(llvmPrefix)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(llvmPrefix)/lib"])
]

let package = Package(
  name: "holo",
  products: [
    .executable(name: "holoc", targets: ["holoc"]),
    // The front end under libFuzzer (toolchain/libfuzzer.sh); built as usual, a replayer.
    .executable(name: "holo-fuzz", targets: ["holo-fuzz"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
  ],
  targets: [
    // Pipeline, in order: source & diagnostics → syntax → semantic analysis → typed IR →
    // LLVM codegen → driver (linking, running, testing) → the live loop → command line.
    .target(name: "HoloSource"),
    .target(name: "HoloSyntax", dependencies: ["HoloSource"]),
    .target(name: "HoloIR", dependencies: ["HoloSource"]),
    .target(
      name: "HoloSema",
      dependencies: [
        "HoloSource", "HoloSyntax", "HoloIR", .product(name: "Crypto", package: "swift-crypto"),
      ]),
    // The dev ABI holoc shares with the runtime and the patch agent (mirrored by
    // runtime/include/holo_dev_abi.h): protocol, wire codec, symbol names, environment.
    .target(name: "HoloDevABI"),
    // The persistent build cache (local store, HTTP remote); independent of the pipeline.
    .target(name: "HoloCache", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
    .systemLibrary(name: "CLLVM", path: "Sources/CLLVM"),
    // C functions over LLVM's C++ API for what the C API lacks (the processors it knows,
    // switching branch alignment).
    .target(
      name: "CLLVMExtras",
      cxxSettings: [.unsafeFlags(["-isystem", "\(llvmPrefix)/include", "-fno-exceptions"])],
      linkerSettings: llvmLinkerSettings + [.linkedLibrary("LLVM-19")]
    ),
    .target(
      name: "HoloCodegen",
      dependencies: ["HoloSource", "HoloIR", "HoloDevABI", "CLLVM", "CLLVMExtras"],
      swiftSettings: llvmSwiftSettings,
      linkerSettings: llvmLinkerSettings
    ),
    .target(
      name: "HoloDriver",
      dependencies: [
        "HoloSource", "HoloSyntax", "HoloIR", "HoloSema", "HoloCodegen", "HoloDevABI", "HoloCache",
      ],
      swiftSettings: llvmSwiftSettings,
      linkerSettings: llvmLinkerSettings
    ),
    .target(
      name: "HoloDev",
      dependencies: [
        "HoloSource", "HoloSyntax", "HoloIR", "HoloSema", "HoloCodegen", "HoloDriver",
        "HoloDevABI", "HoloCache",
      ],
      swiftSettings: llvmSwiftSettings,
      linkerSettings: llvmLinkerSettings
    ),
    .executableTarget(
      name: "holoc",
      dependencies: [
        "HoloCache", "HoloCodegen", "HoloDev", "HoloDriver", "HoloSource",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: llvmSwiftSettings,
      linkerSettings: llvmLinkerSettings
    ),
    .executableTarget(name: "holo-fuzz", dependencies: ["HoloSource", "HoloSema"]),
    .testTarget(
      name: "HoloTests",
      dependencies: [
        "HoloSource", "HoloSyntax", "HoloIR", "HoloSema", "HoloCodegen", "HoloDriver", "HoloDev",
        "HoloDevABI",
        "HoloCache",
      ],
      exclude: ["Conformance", "DevABI", "Fuzz"],
      swiftSettings: llvmSwiftSettings,
      linkerSettings: llvmLinkerSettings
    ),
  ],
  cxxLanguageStandard: .cxx17
)
