#!/usr/bin/env bash
# Load benchmark of the REST API (issue 4): 50 concurrent clients for 30 s on
# GET /api/v1/profiles with 10,000 profiles, measured with wrk. Prints one JSON
# line with the request rate, errors and latency percentiles.
#
# Usage: bench/api_load.sh [--profiles N] [--connections C] [--duration S] [--build DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profiles=10000 connections=50 duration=30 build="$root/build/release"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profiles) profiles="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) echo "usage: $0 [--profiles N] [--connections C] [--duration S] [--build DIR]" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "api_load: wrk not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
binary="$build/src/safelynx"
[[ -x "$binary" ]] || { echo "api_load: $binary not built (bash scripts/build.sh release)" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

password="bench-password-123"
SAFELYNX_ADMIN_PASSWORD="$password" SAFELYNX_SERVER_RATE_LIMIT_PER_SECOND=0 \
  "$binary" serve --data-dir "$work/data" --port 0 >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$work/stdout" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
url="$(grep -o 'http://[^ ]*' "$work/stdout" | head -1)"
token="$(curl -sf -X POST "$url/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

# N profiles with one random 128-d descriptor each, through the import endpoint.
python3 - "$profiles" >"$work/import.json" <<'PY'
import base64, json, random, struct, sys, uuid
n = int(sys.argv[1]); rng = random.Random(7)
names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
classes = ["trusted", "known", "unknown", "flagged"]
out = []
for i in range(n):
    vec = [rng.gauss(0, 0.09) for _ in range(128)]
    t = "2026-11-%02dT%02d:%02d:00.000Z" % (1 + i % 28, i % 24, i % 60)
    out.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "name": "%s %d" % (names[i % len(names)], i), "classification": classes[i % 4],
                "tags": ["bench", "group%d" % (i % 10)], "notes": "", "first_seen": None, "last_seen": None,
                "sighting_count": 0, "created_at": t, "updated_at": t,
                "embeddings": [{"descriptor": base64.b64encode(struct.pack("<128f", *vec)).decode(),
                                "quality": 0.9, "created_at": t}], "thumbnail": None})
json.dump({"format": "safelynx-profiles", "version": 1, "exported_at": "2026-11-29T00:00:00.000Z", "profiles": out}, sys.stdout)
PY
import_start=$(date +%s.%N)
curl -sf -X POST "$url/api/v1/profiles/import" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' --data-binary @"$work/import.json" >/dev/null
import_s=$(python3 -c "print(round($(date +%s.%N) - $import_start, 1))")
total="$(curl -sf "$url/api/v1/profiles?per_page=1" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"

cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('WRK {"requests": %d, "non_2xx": %d, "socket_errors": %d, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.errors.status, errors, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
threads=$(( $(nproc) < connections ? $(nproc) : connections ))
wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 10s -s "$work/report.lua" \
  -H "Authorization: Bearer $token" "$url/api/v1/profiles?page=3&per_page=50&sort=name" >"$work/wrk.txt"
result="$(grep '^WRK ' "$work/wrk.txt" | sed 's/^WRK //')"
python3 - "$result" "$total" "$connections" "$duration" "$import_s" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r.update({"profiles": int(sys.argv[2]), "connections": int(sys.argv[3]), "duration_s": int(sys.argv[4]),
          "import_s": float(sys.argv[5]), "endpoint": "GET /api/v1/profiles?page=3&per_page=50&sort=name"})
print(json.dumps(r))
PY
