#!/usr/bin/env bash
# Set up and run Safelynx on a fresh Debian 12 machine: install what is
# missing, fetch and verify the models, build, then run the main job.
# Until the server exists the main job is `safelynx identify` on the shared
# demo photos: it enrols everyone in ../shared/testdata/faces and names the
# people in a group photo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/fetch-models.sh
bash scripts/build.sh release

testdata="${SAFELYNX_TESTDATA:-$root/../shared/testdata}"
if [[ ! -d "$testdata/faces" ]]; then
  echo "start: built build/release/src/safelynx; no demo photos at $testdata." >&2
  echo "start: try: build/release/src/safelynx identify --gallery DIR PHOTO..." >&2
  echo "start:      (DIR has one sub-directory of photos per person)" >&2
  exit 0
fi
echo "start: identifying the people in $testdata/scenes/obama_biden_1.jpg and kit_rose.jpg" >&2
exec build/release/src/safelynx identify --gallery "$testdata/faces" \
  "$testdata/scenes/obama_biden_1.jpg" "$testdata/scenes/kit_rose.jpg"
