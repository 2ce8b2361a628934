#!/usr/bin/env bash
# Installs holo for C projects under a prefix:
#
#   PREFIX/bin/holoc                          the compiler
#   PREFIX/share/holo/runtime/                the runtime sources holoc compiles (include, src, agent)
#   PREFIX/include/holo.h                     the runtime's C interface (holo_str, failure handler)
#   PREFIX/lib/pkgconfig/holo.pc, holo-dev.pc flags for a release / dev `--emit lib` archive
#   PREFIX/lib/cmake/Holo/                    find_package(Holo): holo_add_library()
#
#   bash toolchain/install.sh --prefix DIR [--holoc PATH]
#
# Without --holoc it builds a release holoc with the Swift runtime linked in statically, so
# the installed binary needs no Swift toolchain (it still needs libLLVM-19, which
# toolchain/setup.sh installs). Safe to run again over an existing install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "install: $*"; }
fail() { echo "install: $*" >&2; exit 1; }
usage() {
  echo "usage: bash toolchain/install.sh --prefix DIR [--holoc PATH]" >&2
  exit 64
}

prefix=""
holoc=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) [[ $# -ge 2 ]] || usage; prefix=$2; shift 2 ;;
    --holoc) [[ $# -ge 2 ]] || usage; holoc=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ -n "$prefix" ]] || usage
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)

# A separate scratch folder, so this build's flags do not invalidate `.build/release`.
build_static_holoc() {
  command -v swift >/dev/null || fail "swift is not on PATH (a Swift 6 toolchain is needed)"
  say "building holoc (release, static Swift runtime)"
  local log scratch=.build/static
  log=$(mktemp)
  if ! swift build -c release --product holoc --static-swift-stdlib --scratch-path "$scratch" \
    >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    fail "holoc build failed"
  fi
  rm -f "$log"
  holoc="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/holoc"
}

if [[ -z "$holoc" ]]; then
  build_static_holoc
fi
[[ -x "$holoc" ]] || fail "not an executable: $holoc"
version=$("$holoc" --version | awk '{print $NF}')
[[ -n "$version" ]] || fail "cannot read the version of $holoc"

say "installing holo $version into $prefix"
install -d "$prefix/bin" "$prefix/include" "$prefix/share/holo" "$prefix/lib/pkgconfig" \
  "$prefix/lib/cmake/Holo"
install -m 0755 "$holoc" "$prefix/bin/holoc.new"
mv -f "$prefix/bin/holoc.new" "$prefix/bin/holoc"

# Replace the runtime as a whole, so files removed from the sources do not linger.
rm -rf "$prefix/share/holo/runtime.new"
mkdir -p "$prefix/share/holo/runtime.new"
cp -R runtime/include runtime/src "$prefix/share/holo/runtime.new/"
mkdir -p "$prefix/share/holo/runtime.new/agent"
cp runtime/agent/*.c runtime/agent/*.h "$prefix/share/holo/runtime.new/agent/"
rm -rf "$prefix/share/holo/runtime"
mv "$prefix/share/holo/runtime.new" "$prefix/share/holo/runtime"
install -m 0644 runtime/include/holo.h "$prefix/include/holo.h"

# ${pcfiledir} keeps the .pc files valid wherever the prefix is moved.
write_pc() {
  local name=$1 description=$2 libs=$3
  cat >"$prefix/lib/pkgconfig/$name.pc" <<EOF
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include

Name: $name
Description: $description
Version: $version
Cflags: -I\${includedir}
Libs: $libs
EOF
}
write_pc holo "C interface of libraries built by holoc build --release --emit lib" "-lm"
write_pc holo-dev \
  "C interface of dev libraries built by holoc build --emit lib (patchable by the agent)" \
  "-lm -lpthread -ldl"

install -m 0644 toolchain/cmake/HoloConfig.cmake "$prefix/lib/cmake/Holo/HoloConfig.cmake"
cat >"$prefix/lib/cmake/Holo/HoloConfigVersion.cmake" <<EOF
# find_package(Holo X.Y) accepts this install when X.Y.Z <= $version with the same major
# version (and, before 1.0, the same minor version).
set(PACKAGE_VERSION "$version")
string(REPLACE "." ";" _holo_installed "\${PACKAGE_VERSION}")
string(REPLACE "." ";" _holo_wanted "\${PACKAGE_FIND_VERSION}")
list(GET _holo_installed 0 _holo_installed_major)
list(GET _holo_installed 1 _holo_installed_minor)
set(_holo_wanted_minor 0)
list(GET _holo_wanted 0 _holo_wanted_major)
list(LENGTH _holo_wanted _holo_wanted_parts)
if(_holo_wanted_parts GREATER 1)
  list(GET _holo_wanted 1 _holo_wanted_minor)
endif()
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION
   OR NOT _holo_wanted_major EQUAL _holo_installed_major
   OR (_holo_installed_major EQUAL 0 AND NOT _holo_wanted_minor EQUAL _holo_installed_minor))
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
EOF
say "done: $prefix/bin/holoc; pkg-config and CMake files under $prefix/lib"
