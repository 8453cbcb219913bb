#!/usr/bin/env bash
# Fetch the face-api model weights Safelynx uses.
#
# Usage: scripts/fetch-models.sh [DIR]
#
# DIR defaults to $SAFELYNX_MODELS, else models/ under the repository root.
# The weights come from the npm package @vladmandic/face-api@1.7.15 (fetched
# with `npm pack` into .cache/npm-pack/ under the repo). The tarball and every
# installed file are checked against the pinned SHA-256 sums below; files are
# unpacked to a temp dir, verified, then moved into place one by one (rename
# within the same filesystem), so DIR never holds a half-written file.
#
# Environment overrides (for testing / mirrors):
#   SAFELYNX_MODELS          models dir if no argument is given
#   SAFELYNX_MODELS_CACHE    cache dir for the tarball (default: <repo>/.cache/npm-pack)
#   SAFELYNX_FACEAPI_TARBALL use this local tarball instead of `npm pack`
#                            (its SHA-256 is still checked)
#
# Exit status: 0 on success, 1 on a checksum mismatch or any other failure.
set -euo pipefail

readonly PKG="@vladmandic/face-api"
readonly PKG_VERSION="1.7.15"
readonly TARBALL_NAME="vladmandic-face-api-${PKG_VERSION}.tgz"
readonly TARBALL_SHA256="0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"

# file name (in the package's model/ folder) -> SHA-256
readonly MODEL_FILES=(
  "ssd_mobilenetv1_model-weights_manifest.json 888f744dffbc84f5f060d1f8427d9742341943a2dfaaf9205d10029b7e7a2955"
  "ssd_mobilenetv1_model.bin 2835640602d53718aa6ae9a42896327eaa21beefed056c218d32ca7d79e1e2f8"
  "tiny_face_detector_model-weights_manifest.json 5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5"
  "tiny_face_detector_model.bin b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871"
  "face_landmark_68_model-weights_manifest.json ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9"
  "face_landmark_68_model.bin 4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b"
  "face_recognition_model-weights_manifest.json cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b"
  "face_recognition_model.bin b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"
)

log() { printf 'fetch-models: %s\n' "$*" >&2; }
die() { printf 'fetch-models: error: %s\n' "$*" >&2; exit 1; }

sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd -- "${script_dir}/.." && pwd)"

if [[ $# -gt 1 ]]; then
  die "usage: $0 [DIR]"
fi
case "${1:-}" in
  -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

models_dir="${1:-${SAFELYNX_MODELS:-${repo_root}/models}}"
cache_dir="${SAFELYNX_MODELS_CACHE:-${repo_root}/.cache/npm-pack}"

command -v sha256sum >/dev/null || die "sha256sum not found (coreutils)"
command -v tar >/dev/null || die "tar not found"

if [[ -e "${models_dir}" && ! -d "${models_dir}" ]]; then
  die "models dir ${models_dir} exists but is not a directory"
fi

# --- 1. What is missing or wrong in the models dir? --------------------------
needed=()
[[ -d "${models_dir}" ]] || log "models dir ${models_dir} does not exist yet"
for entry in "${MODEL_FILES[@]}"; do
  read -r name want <<<"${entry}"
  f="${models_dir}/${name}"
  if [[ ! -e "${f}" ]]; then
    [[ -d "${models_dir}" ]] && log "missing: ${f}"
    needed+=("${entry}")
  elif [[ ! -f "${f}" ]]; then
    die "${f} exists but is not a regular file"
  else
    got="$(sha256_of "${f}")"
    if [[ "${got}" != "${want}" ]]; then
      log "checksum mismatch, will re-fetch: ${f} (expected ${want}, actual ${got})"
      needed+=("${entry}")
    fi
  fi
done

if [[ ${#needed[@]} -eq 0 ]]; then
  log "models up to date in ${models_dir}"
  exit 0
fi
log "${#needed[@]} of ${#MODEL_FILES[@]} model files to install into ${models_dir}"

# --- 2. Get the package tarball (cached) and verify it -----------------------
mkdir -p -- "${cache_dir}"
if [[ -n "${SAFELYNX_FACEAPI_TARBALL:-}" ]]; then
  tarball="${SAFELYNX_FACEAPI_TARBALL}"
  [[ -f "${tarball}" ]] || die "SAFELYNX_FACEAPI_TARBALL=${tarball} is not a file"
  log "using tarball from SAFELYNX_FACEAPI_TARBALL: ${tarball}"
else
  tarball="${cache_dir}/${TARBALL_NAME}"
  if [[ -f "${tarball}" ]] && [[ "$(sha256_of "${tarball}")" != "${TARBALL_SHA256}" ]]; then
    log "cached tarball ${tarball} has a wrong checksum; removing it and fetching again"
    rm -f -- "${tarball}"
  fi
  if [[ -f "${tarball}" ]]; then
    log "using cached tarball ${tarball}"
  else
    command -v npm >/dev/null || die "npm not found (run scripts/install-deps.sh)"
    log "downloading ${PKG}@${PKG_VERSION} with npm pack into ${cache_dir}"
    # npm pack writes the tarball name on stdout; its notices go to stderr.
    # --prefer-offline: reuse npm's own cache if it has the package (the
    # SHA-256 below is checked either way); short retries so an offline
    # machine fails in seconds rather than minutes.
    packed="$(cd -- "${cache_dir}" && npm pack --loglevel=error --prefer-offline \
      --fetch-retries=2 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 \
      --fetch-timeout=120000 "${PKG}@${PKG_VERSION}" </dev/null)" \
      || die "npm pack ${PKG}@${PKG_VERSION} failed"
    packed="$(printf '%s\n' "${packed}" | tail -n1)"
    [[ -f "${cache_dir}/${packed}" ]] || die "npm pack did not produce a tarball (got '${packed}')"
    if [[ "${packed}" != "${TARBALL_NAME}" ]]; then
      mv -f -- "${cache_dir}/${packed}" "${tarball}"
    fi
  fi
fi

got="$(sha256_of "${tarball}")"
if [[ "${got}" != "${TARBALL_SHA256}" ]]; then
  die "checksum mismatch for tarball ${tarball}: expected ${TARBALL_SHA256}, actual ${got}"
fi
log "tarball checksum OK (${TARBALL_SHA256})"

# --- 3. Unpack to a temp dir next to the target, verify, move ----------------
mkdir -p -- "${models_dir}"
# Temp dir inside models_dir so the final mv is a same-filesystem rename.
tmp_dir="$(mktemp -d "${models_dir}/.fetch-models.XXXXXX")"
trap 'rm -rf -- "${tmp_dir}"' EXIT
trap 'exit 130' INT TERM HUP

members=()
for entry in "${needed[@]}"; do
  read -r name _ <<<"${entry}"
  members+=("package/model/${name}")
done
log "unpacking ${#members[@]} files"
tar -xzmf "${tarball}" -C "${tmp_dir}" --no-same-owner -- "${members[@]}" \
  || die "could not extract model files from ${tarball}"

# Verify everything before touching the models dir.
for entry in "${needed[@]}"; do
  read -r name want <<<"${entry}"
  f="${tmp_dir}/package/model/${name}"
  [[ -f "${f}" ]] || die "${name} not found in ${tarball}"
  got="$(sha256_of "${f}")"
  if [[ "${got}" != "${want}" ]]; then
    die "checksum mismatch for ${name} (from ${tarball}): expected ${want}, actual ${got}"
  fi
done

for entry in "${needed[@]}"; do
  read -r name _ <<<"${entry}"
  chmod 0644 -- "${tmp_dir}/package/model/${name}"
  mv -f -- "${tmp_dir}/package/model/${name}" "${models_dir}/${name}"
  log "installed ${models_dir}/${name}"
done

log "models up to date in ${models_dir}"
