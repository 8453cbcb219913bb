#!/usr/bin/env bash
# Install the Debian 12 (bookworm) packages Safelynx needs to build, test,
# fuzz and benchmark. This is the ONE place that lists them.
#
# Usage: scripts/install-deps.sh [--check]
#
#   --check   only report what is missing; exit 1 if anything is.
#
# Packages already installed are skipped; `apt-get update` runs (once) only if
# something has to be installed. sudo is used only when not running as root.
# nodejs/npm are only installed when the `node` / `npm` commands are missing
# (a node from elsewhere, e.g. NodeSource or nvm, is fine).
set -euo pipefail

# Build toolchain, libraries, test/bench/fuzz tooling, the browser for the UI tests.
readonly PACKAGES=(
  build-essential
  cmake
  pkg-config
  g++
  ccache                 # compiler cache: CI's clean clones reuse earlier builds' objects
  clang                  # libFuzzer target (-fsanitize=fuzzer)
  libclang-rt-14-dev     # libFuzzer / sanitizer runtimes for clang 14
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libopencv-dev
  libjpeg62-turbo-dev    # JPEG decoded directly so pixels match the reference decoder
  libopenblas0-pthread   # sgemm for convolutions, loaded at run time (dlopen); optional at run time
  nlohmann-json3-dev
  libcli11-dev
  libtomlplusplus-dev
  libspdlog-dev
  libhnswlib-dev         # HNSW graph for large galleries (header-only)
  libboost-dev           # Boost.Beast/Asio: the HTTP and WebSocket server (header-only)
  libssl-dev             # TLS for the server
  libsqlite3-dev         # the embedded database
  libsodium-dev          # argon2id password hashes, tokens, random UUIDs
  prometheus-cpp-dev     # /metrics in the Prometheus text format
  libavformat-dev        # recordings: MP4 + H.264 written with FFmpeg's libraries
  libavcodec-dev
  libswscale-dev
  libavutil-dev
  wrk                    # bench/api_load.sh
  curl                   # bench/api_load.sh, the examples in docs/API.md
  jq                     # the examples in README.md and docs/API.md
  python3-faiss          # `safelynx bench index` compares with FAISS
  python3-numpy
  ca-certificates
  chromium               # the web UI's end-to-end tests (web/e2e, playwright-core drives it)
)

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

check_only=0
case "${1:-}" in
  "") ;;
  --check) check_only=1 ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "usage: $0 [--check]" ;;
esac
[[ $# -le 1 ]] || die "usage: $0 [--check]"

command -v dpkg-query >/dev/null || die "dpkg-query not found: this script is for Debian 12"

# True if the package is installed (not merely known / config-files only).
is_installed() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" || return 1
  [[ "${status}" == "installed" ]]
}

# The UI and its end-to-end tests need node >= 18 (Debian 12's nodejs is 18;
# playwright-core is pinned to 1.61.1, the last release that runs on 18).
warn_old_node() {
  local major
  command -v node >/dev/null || return 0
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [[ "${major}" -lt 18 ]]; then
    log "warning: node $(node --version) is older than 18: the web UI will not build"
  fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "${pkg}" || missing+=("${pkg}")
done

# Node.js: any `node`/`npm` on PATH will do.
if ! command -v node >/dev/null; then
  missing+=(nodejs)
else
  log "node found: $(command -v node) ($(node --version 2>/dev/null || echo '?'))"
fi
if ! command -v npm >/dev/null; then
  missing+=(npm)
else
  log "npm found: $(command -v npm) ($(npm --version 2>/dev/null || echo '?'))"
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  warn_old_node
  log "all ${#PACKAGES[@]} packages (plus node/npm) already installed; nothing to do"
  exit 0
fi

log "missing: ${missing[*]}"
if [[ ${check_only} -eq 1 ]]; then
  exit 1
fi

if [[ ${EUID} -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  die "not root and sudo not found; run as root: apt-get install ${missing[*]}"
fi

export DEBIAN_FRONTEND=noninteractive
log "running apt-get update"
"${SUDO[@]}" apt-get update
log "installing: ${missing[*]}"
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

# Re-check so a silently skipped package is not missed.
still=()
for pkg in "${missing[@]}"; do
  case "${pkg}" in
    nodejs) command -v node >/dev/null || still+=("${pkg}") ;;
    npm) command -v npm >/dev/null || still+=("${pkg}") ;;
    *) is_installed "${pkg}" || still+=("${pkg}") ;;
  esac
done
[[ ${#still[@]} -eq 0 ]] || die "still missing after apt-get install: ${still[*]}"
warn_old_node
log "done"
