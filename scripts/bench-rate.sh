#!/usr/bin/env bash
# Measures how close `wechatpay-card bulk` comes to a rate limit it is not told (release builds,
# same machine): a sandbox limited to R requests per second per merchant and endpoint (its token
# bucket, `sandbox --rps R`), and a bulk of 20·R update lines sent
#  - with the adaptive limiter (`--rps auto`, the default: it starts at the endpoint's documented
#    5/s and must find R),
#  - at a fixed `--rps R` (the operator knows R),
#  - with no limiter at all (`--rps off`: only --concurrency bounds it).
# For each: the throughput of successful requests as a share of R, the share of requests the
# sandbox answered 429 (from its /_sandbox/stats), the lines that failed, the wall time.
# Each run gets a fresh sandbox (a full bucket, counters at zero).
#
# Usage: scripts/bench-rate.sh [R...]        (default: 5 20 100)
# Needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then limits=("$@"); else limits=(5 20 100); fi
concurrency=${CONCURRENCY:-8}
max_attempts=${MAX_ATTEMPTS:-12}
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "bench-rate.sh: $tool is needed" >&2; exit 2; }
done

cargo build --release --quiet -p wechatpay-card
bin=$PWD/target/release/wechatpay-card
work=$(mktemp -d)
sandbox_pid=
stop_sandbox() {
  if [ -n "$sandbox_pid" ]; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
    sandbox_pid=
  fi
}
trap 'stop_sandbox; rm -rf "$work"' EXIT

# N copies of the page's example card (brand 1004), codes C000000…
make_cards() {
  awk -v n="$1" 'BEGIN {
    printf "["
    for (i = 0; i < n; i++) {
      if (i) printf ","
      printf "{\"user_card_code\":\"C%06d\",\"card_id\":\"pbLatjvWOibDc5-TBnbUk1pD12o0\",\"openid\":\"obLatjnx9gnqzS4myYGmLZ7LgLBA\",\"brand_id\":\"1004\",\"card_type\":\"NORMAL\",\"level\":\"L\",\"valid_date_information\":{\"type\":\"PERMANENT\"},\"pickup_time\":\"2020-05-20T13:29:35.120+08:00\",\"user_card_state\":\"EFFECTIVE\",\"create_time\":\"2020-05-20T13:29:35.120+08:00\",\"modify_time\":\"2020-05-20T13:29:35.120+08:00\"}", i
    }
    printf "]"
  }' > "$2"
}

# N update lines, one per card, each a new level.
make_input() {
  awk -v n="$1" 'BEGIN {
    for (i = 0; i < n; i++)
      printf "{\"card_id\":\"pbLatjvWOibDc5-TBnbUk1pD12o0\",\"code\":\"C%06d\",\"body\":{\"brand_id\":\"1004\",\"openid\":\"obLatjnx9gnqzS4myYGmLZ7LgLBA\",\"level\":\"M%d\"}}\n", i, i
  }' > "$2"
}

start_sandbox() {
  local limit=$1
  rm -rf "$work/sandbox"
  "$bin" sandbox --state-dir "$work/sandbox" --cards "$work/cards.json" --rps "$limit" \
    > "$work/url" 2> "$work/sandbox.log" &
  sandbox_pid=$!
  for _ in $(seq 100); do [ -s "$work/sandbox/env" ] && [ -s "$work/url" ] && break; sleep 0.1; done
  [ -s "$work/sandbox/env" ] || { cat "$work/sandbox.log" >&2; exit 1; }
}

printf '%-5s %-9s %7s %9s %11s %7s %8s\n' "R" "--rps" "lines" "wall s" "share of R" "429 %" "failed"
for limit in "${limits[@]}"; do
  lines=$((20 * limit))
  make_cards "$lines" "$work/cards.json"
  make_input "$lines" "$work/input"
  for mode in auto "$limit" off; do
    start_sandbox "$limit"
    rm -f "$work/journal"
    start=$(date +%s.%N)
    (
      set -a; . "$work/sandbox/env"; set +a
      "$bin" bulk --input "$work/input" --journal "$work/journal" --concurrency "$concurrency" \
        --max-attempts "$max_attempts" --rps "$mode" 2> "$work/bulk.log" || true
    )
    end=$(date +%s.%N)
    stats=$(curl -fsS "$(head -n1 "$work/url")/_sandbox/stats")
    stop_sandbox
    ok=$(jq '.by_status["200"] // 0' <<< "$stats")
    throttled=$(jq '.by_status["429"] // 0' <<< "$stats")
    total=$(jq '[.by_status[]] | add // 0' <<< "$stats")
    failed=$(grep -o '[0-9]* failed' "$work/bulk.log" | head -n1 | cut -d' ' -f1)
    label=$([ "$mode" = "$limit" ] && echo "R" || echo "$mode")
    awk -v r="$limit" -v mode="$label" -v n="$lines" -v s="$start" -v e="$end" -v ok="$ok" \
        -v t="$throttled" -v total="$total" -v failed="${failed:-?}" 'BEGIN {
      wall = e - s
      printf "%-5d %-9s %7d %9.2f %10.1f%% %6.2f%% %8s\n", r, mode, n, wall, 100 * ok / wall / r,
        (total > 0 ? 100 * t / total : 0), failed
    }'
  done
done
