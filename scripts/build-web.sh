#!/usr/bin/env bash
# Build the web UI (web/src, TypeScript) into web/dist, which `safelynx serve`
# serves at / (docs/CONFIG.md: server.web_dir).
#
# `npm ci` runs only when web/node_modules is missing or web/package-lock.json
# changed since the last install (its SHA-256 is kept in
# web/node_modules/.safelynx-lock.sha256); then `npm run build` (type check
# and assemble dist/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
command -v npm >/dev/null || { echo "build-web: npm not found: run scripts/install-deps.sh" >&2; exit 1; }

stamp="$web/node_modules/.safelynx-lock.sha256"
want="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
if [[ ! -d "$web/node_modules" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "build-web: installing the UI's build and test tools (npm ci)" >&2
  npm --prefix "$web" ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi
echo "build-web: building web/dist" >&2
npm --prefix "$web" run build
