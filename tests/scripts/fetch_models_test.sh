#!/usr/bin/env bash
# scripts/fetch-models.sh as a user meets it: a second run does nothing (not
# even npm), a corrupted model file is detected and replaced from the
# verified tarball, and a tarball with the wrong checksum stops with a message
# naming it. Needs the verified tarball that the first fetch cached; skips
# (exit 77) without it.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fetch="$root/scripts/fetch-models.sh"
tarball="$root/.cache/npm-pack/vladmandic-face-api-1.7.15.tgz"
if [[ ! -f "$tarball" || ! -f "$root/models/face_recognition_model.bin" ]]; then
  echo "SKIP: run scripts/fetch-models.sh first (no cached tarball / models)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passes=0
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; passes=$((passes + 1)); else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

cp -r "$root/models" "$work/models"
# 1. Everything present: nothing to do, and npm is not called (a fake npm
# first on PATH would leave a mark).
mkdir -p "$work/bin"
printf '#!/bin/sh\ntouch "%s/npm-called"\nexit 1\n' "$work" >"$work/bin/npm"
chmod +x "$work/bin/npm"
out="$(PATH="$work/bin:$PATH" SAFELYNX_MODELS_CACHE="$work/cache" /bin/bash "$fetch" "$work/models" 2>&1)"; rc=$?
check "second run succeeds" test "$rc" -eq 0
check "second run says up to date" grep -q "models up to date" <<<"$out"
check "second run does not call npm" test ! -e "$work/npm-called"

# 2. A corrupted file is named and replaced from the verified tarball.
printf 'garbage' >"$work/models/face_landmark_68_model.bin"
out="$(SAFELYNX_FACEAPI_TARBALL="$tarball" /bin/bash "$fetch" "$work/models" 2>&1)"; rc=$?
check "corrupted file repaired" test "$rc" -eq 0
check "corrupted file named" grep -q "checksum mismatch, will re-fetch: $work/models/face_landmark_68_model.bin" <<<"$out"
check "repaired file matches the original" cmp -s "$work/models/face_landmark_68_model.bin" "$root/models/face_landmark_68_model.bin"

# 3. A tarball with the wrong checksum stops, names it, and installs nothing.
rm "$work/models/face_recognition_model.bin"
printf 'not the face-api package' >"$work/fake.tgz"
out="$(SAFELYNX_FACEAPI_TARBALL="$work/fake.tgz" /bin/bash "$fetch" "$work/models" 2>&1)"; rc=$?
check "wrong tarball checksum fails" test "$rc" -ne 0
check "wrong tarball named" grep -q "checksum mismatch for tarball $work/fake.tgz" <<<"$out"
check "nothing installed from it" test ! -e "$work/models/face_recognition_model.bin"

echo "$passes passed, $failures failed"
[[ $failures -eq 0 ]]
