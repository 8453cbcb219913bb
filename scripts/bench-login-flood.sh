#!/usr/bin/env bash
# How much parallel wrong logins slow the rest of the API (issue 13, finding
# 5). Starts `safelynx serve` on a throw-away data dir, measures 100
# authenticated GETs of /api/v1/profiles alone, then again while 16 clients
# send wrong logins as fast as they can, and prints one JSON line.
#
# Usage: scripts/bench-login-flood.sh [same-address|spoofed-addresses]
#   same-address       every wrong login from 127.0.0.1: the per-address
#                      throttle answers most of them 429 without hashing
#   spoofed-addresses  each from another address and username (the server
#                      believes X-Forwarded-For from 127.0.0.1 here), so no
#                      failure count ever reaches the delays: only the cap
#                      on concurrent password hashes protects the API
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-same-address}"
bin="${SAFELYNX_BIN:-$root/build/release/src/safelynx}"
[ -x "$bin" ] || { echo "build the server first: bash scripts/build.sh release" >&2; exit 2; }
work="$(mktemp -d)"
server_pid=""
flood_pids=()
cleanup() {
  for pid in "${flood_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

password="bench-login-flood-password"
trusted=""
[ "$mode" = spoofed-addresses ] && trusted="127.0.0.1"
SAFELYNX_ADMIN_PASSWORD="$password" SAFELYNX_SERVER_RATE_LIMIT_PER_SECOND=0 SAFELYNX_SERVER_TRUSTED_PROXIES="$trusted" \
  "$bin" serve --data-dir "$work/data" --port 0 >"$work/out" 2>"$work/log" &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$work/out" 2>/dev/null && break
  sleep 0.1
done
port="$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$work/out")"
[ -n "$port" ] || { echo "the server did not start:" >&2; cat "$work/log" >&2; exit 1; }
base="http://127.0.0.1:$port"
token="$(curl -s -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }

# 100 GETs, one at a time; prints their times in ms, one a line.
measure() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$base/api/v1/profiles"
  done | awk '{printf "%.3f\n", $1 * 1000}'
}
# p50, p95 and max of the times on stdin, as JSON fields with a prefix.
summarise() {
  sort -n | awk -v p="$1" '{v[NR]=$1} END {printf "\"%s_p50_ms\":%.1f,\"%s_p95_ms\":%.1f,\"%s_max_ms\":%.1f", p, v[int(NR*0.5)], p, v[int(NR*0.95)], p, v[NR]}'
}

quiet="$(measure | summarise quiet)"
: >"$work/statuses"
for client in $(seq 1 16); do
  (
    i=0
    while :; do
      i=$((i + 1))
      if [ "$mode" = spoofed-addresses ]; then
        curl -s -o /dev/null -w '%{http_code}\n' -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
          -H "X-Forwarded-For: 10.$client.$((i / 250 % 250)).$((i % 250 + 1))" \
          -d "{\"username\":\"u$client-$i\",\"password\":\"wrong-$i\"}"
      else
        curl -s -o /dev/null -w '%{http_code}\n' -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
          -d "{\"username\":\"admin\",\"password\":\"wrong-$i\"}"
      fi
    done >>"$work/statuses"
  ) &
  flood_pids+=($!)
done
sleep 2  # let the flood reach its pace
flooded="$(measure | summarise flooded)"
for pid in "${flood_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
flood_pids=()
refused_401="$(grep -c '^401' "$work/statuses" || true)"
throttled_429="$(grep -c '^429' "$work/statuses" || true)"
printf '{"bench":"login_flood","mode":"%s",%s,%s,"logins_401":%s,"logins_429":%s}\n' \
  "$mode" "$quiet" "$flooded" "$refused_401" "$throttled_429"
