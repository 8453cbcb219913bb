#!/usr/bin/env bash
# Run every test: a release build with warnings as errors, then the same tests
# again under AddressSanitizer and UndefinedBehaviorSanitizer, then the
# embedding index tests (the multi-threaded part) under ThreadSanitizer.
# After the release tests, the web UI is built, unit-tested (web/test) and
# tested end to end in Chromium against the release server (web/e2e/run.mjs;
# screenshots in web/test-results/). Installs what is missing and fetches the models first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/fetch-models.sh
jobs="$(nproc 2>/dev/null || echo 2)"

bash scripts/build.sh release
echo "test: release build" >&2
ctest --test-dir build/release --output-on-failure -j "$jobs"

bash scripts/build-web.sh
echo "test: web UI unit tests" >&2
npm --prefix web run --silent test:unit
echo "test: web UI end to end (Chromium, build/release/src/safelynx)" >&2
npm --prefix web run --silent test:e2e

bash scripts/build.sh asan
echo "test: ASan/UBSan build" >&2
# The fuzz test already ran (with its own sanitizers) in the release pass.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs" -LE fuzz

bash scripts/build.sh tsan
echo "test: ThreadSanitizer build (embedding index)" >&2
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build/tsan --output-on-failure -j "$jobs" -L index
