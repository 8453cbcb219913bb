#!/usr/bin/env bash
# Configure and build one flavour of Safelynx.
#
# Usage: scripts/build.sh release|asan|tsan [target...]
#   With targets, only those are built (scripts/start.sh builds just the
#   server, not the test suites).
#   release  optimised build, warnings are errors      -> build/release
#   asan     AddressSanitizer + UBSan, warnings errors -> build/asan
#   tsan     ThreadSanitizer, only the embedding index and its tests
#            (the concurrent part; OpenCV is not built for TSan) -> build/tsan
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
flavour="${1:-release}"
targets=()
case "$flavour" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release -DSAFELYNX_WERROR=ON) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAFELYNX_WERROR=ON -DSAFELYNX_SANITIZE=ON) ;;
  tsan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAFELYNX_WERROR=ON -DSAFELYNX_TSAN=ON)
        targets=(--target safelynx_index_tests) ;;
  *) echo "usage: $0 release|asan|tsan [target...]" >&2; exit 2 ;;
esac
shift || true
for target in "$@"; do targets+=(--target "$target"); done
jobs="$(nproc 2>/dev/null || echo 2)"
# ccache (when installed, see CMakeLists.txt) keyed on paths relative to the
# checkout, so a fresh clone elsewhere reuses the objects of an earlier build.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-12G}"
echo "build: configuring $flavour in build/$flavour" >&2
cmake -S "$root" -B "$root/build/$flavour" "${flags[@]}" >/dev/null
echo "build: compiling with $jobs jobs" >&2
cmake --build "$root/build/$flavour" -j "$jobs" "${targets[@]}"
