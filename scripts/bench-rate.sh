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

. scripts/lib.sh

printf '%-5s %-9s %7s %9s %11s %7s %8s\n' "R" "--rps" "lines" "wall s" "share of R" "429 %" "failed"
for limit in "${limits[@]}"; do
  lines=$((20 * limit))
  make_cards "$lines" "$work/cards.json"
  make_updates "$lines" "$lines" "$work/input"
  for mode in auto "$limit" off; do
    start_sandbox "$work/cards.json" --rps "$limit"
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
