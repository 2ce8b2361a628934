#!/usr/bin/env bash
# The test suite: makes sure the system packages are present, builds the package and its
# tests, and runs them. Exits with the status of `swift test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash toolchain/setup.sh --packages-only
swift build --build-tests
# Every test is an XCTest, so XCTest's summary is the suite's last line.
exec swift test --skip-build --disable-swift-testing
