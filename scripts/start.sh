#!/usr/bin/env bash
# Set up and run Safelynx on a fresh Debian 12 machine: install what is
# missing, fetch and verify the models, build the server and the web UI
# (web/dist), then start the server on its embedded defaults (SQLite under
# ~/.local/share/safelynx, the UI and the API on http://127.0.0.1:7889).
# Arguments are passed to `safelynx serve` (e.g. --port 8080, --data-dir DIR).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/fetch-models.sh
bash scripts/build.sh release safelynx  # the server only: the tests are built by scripts/test.sh
bash scripts/build-web.sh

echo "start: starting the server (Ctrl-C stops it; docs/API.md says how to use it)" >&2
exec build/release/src/safelynx serve --models "$root/models" "$@"
