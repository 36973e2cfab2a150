#!/usr/bin/env bash
# Measures `wechatpay-card bulk` against a local sandbox (release builds, same machine):
#  - throughput at --concurrency 1, 8 and 32 (lines per second) and the bulk process's CPU
#    seconds per 1,000 lines, from /usr/bin/time -v, also as a multiple of the cryptographic
#    floor (`openssl speed rsa2048`, measured before and after each run);
#  - peak resident memory of the bulk process for inputs of growing size (by default up to
#    1,000,000 lines), which must stay flat.
# The inputs are generated here, in a temporary directory, and removed afterwards.
#
# Usage: scripts/bench-bulk.sh [THROUGHPUT_LINES [MEMORY_SIZES... | -]]
#   e.g. scripts/bench-bulk.sh 10000 10000 100000 1000000
#   `-` as the sizes skips the memory runs.
# Environment:
#   CONCURRENCY="1 8 32"  the --concurrency values of the throughput runs
#   ROUNDS=1              throughput runs per value; with more, each is printed and then the
#                         medians (the machine's noise is about ±0.1x the floor per run)
#   COMPARE=PATH          another wechatpay-card binary (e.g. a build of an older commit), run
#                         interleaved with this one in every round, for a side-by-side figure
set -euo pipefail
cd "$(dirname "$0")/.."

lines=${1:-10000}
shift || true
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(10000 100000 1000000); fi
[ "${sizes[*]}" = "-" ] && sizes=()
read -r -a levels <<< "${CONCURRENCY:-1 8 32}"
rounds=${ROUNDS:-1}
case "$rounds" in '' | *[!0-9]* | 0) echo "bench-bulk.sh: ROUNDS must be a positive whole number" >&2; exit 2 ;; esac
compare=${COMPARE:-}
if [ -n "$compare" ] && [ ! -x "$compare" ]; then
  echo "bench-bulk.sh: COMPARE=$compare is not an executable" >&2
  exit 2
fi
cards=10000

. scripts/lib.sh

# $cards cards; N update lines over them, each a new level and an encrypted phone number.
make_cards "$cards" "$work/cards.json"
make_input() {
  make_updates "$1" "$cards" "$2" phone
}

start_sandbox "$work/cards.json"
set -a; . "$work/sandbox/env"; set +a

# The cryptographic floor of one update, from `openssl speed rsa2048` on this machine: one
# RSA-2048 signature (the request) and two public-key operations (the phone number's encryption,
# the answer's verification). Measured around each bulk run, so both see the same machine.
floor_ms() {
  openssl speed -seconds 3 rsa2048 2>/dev/null |
    awk '/^rsa 2048 bits/ { printf "%.4f", ($4 + 2 * $5) * 1000 }'
}

# Runs BIN's bulk under /usr/bin/time -v; prints: the binary's label, lines, seconds, lines/s, CPU s
# per 1000 lines, max RSS MiB, and the CPU per line as a multiple of the floor (the mean of the
# floors before and after); appends "label concurrency multiple cpu" to $work/results.
measure() {
  local n=$1 concurrency=$2 input=$3 bin=${4:-$bin} label=${5:-this}
  rm -f "$work/journal"
  local before after
  before=$(floor_ms)
  /usr/bin/time -v "$bin" bulk --input "$input" --journal "$work/journal" --concurrency "$concurrency" --rps off \
    2> "$work/time" || { cat "$work/time"; exit 1; }
  grep -q "$n succeeded, 0 failed" "$work/time" || { cat "$work/time"; exit 1; }
  after=$(floor_ms)
  awk -v n="$n" -v c="$concurrency" -v floor="$before $after" -v label="$label" -v results="$work/results" -F': ' '
    /Elapsed \(wall clock\)/ { split($2, t, ":"); wall = (length(t) == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
    /User time/ { user = $2 } /System time/ { sys = $2 } /Maximum resident/ { rss = $2 }
    END { split(floor, f, " "); fl = (f[1] + f[2]) / 2; cpu = (user + sys) * 1000 / n
          printf "%-7s %9d lines  concurrency %2d  %7.1f s  %7.0f lines/s  %.3f CPU s per 1000 lines  %6.1f MiB max RSS  %.2fx the floor (%.3f ms)\n",
          label, n, c, wall, n / wall, cpu, rss / 1024, cpu / fl, fl
          printf "%s %d %.4f %.4f\n", label, c, cpu / fl, cpu >> results }' "$work/time"
}

echo "== throughput ($lines lines, sandbox $(cat "$work/url"))"
make_input "$lines" "$work/input"
: > "$work/results"
for round in $(seq "$rounds"); do
  for concurrency in "${levels[@]}"; do
    measure "$lines" "$concurrency" "$work/input"
    if [ -n "$compare" ]; then
      measure "$lines" "$concurrency" "$work/input" "$compare" compare
    fi
  done
done
if [ "$rounds" -gt 1 ] || [ -n "$compare" ]; then
  echo "== medians over $rounds round(s)"
  sort -k1,1 -k2,2n -k3,3n "$work/results" | awk '
    function flush() { if (count) printf "%-7s concurrency %2d  %d run(s)  median %.2fx the floor (%.2fx to %.2fx)  median %.3f CPU s per 1000 lines\n",
                         key_label, key_c, count, (count % 2) ? r[(count + 1) / 2] : (r[count / 2] + r[count / 2 + 1]) / 2, r[1], r[count],
                         median_cpu() }
    function median_cpu(   i, j, t, m) { for (i = 1; i <= count; i++) s[i] = cpu[i]
                         for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
                         return (count % 2) ? s[(count + 1) / 2] : (s[count / 2] + s[count / 2 + 1]) / 2 }
    { if ($1 != key_label || $2 != key_c) { flush(); key_label = $1; key_c = $2; count = 0 }
      count++; r[count] = $3; cpu[count] = $4 }
    END { flush() }'
fi

if [ "${#sizes[@]}" -gt 0 ]; then
  echo "== peak memory by input size (concurrency 8)"
  for n in "${sizes[@]}"; do
    make_input "$n" "$work/input"
    measure "$n" 8 "$work/input"
  done
fi
