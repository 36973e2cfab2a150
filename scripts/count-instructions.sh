#!/usr/bin/env bash
# Counts the instructions `wechatpay-card bulk` executes per line, outside aws-lc and inside it,
# with valgrind's callgrind: a count, not a time, so the same binary gives the same figure
# (to about 0.1%) however busy the machine is. This is what tells a change of a few percent of
# the client's own work from the machine's noise, which `scripts/bench-bulk.sh` cannot (its CPU
# seconds move by about ±10% from run to run on a shared machine).
#
# Each binary runs `bulk --concurrency 8 --rps off` against a local sandbox twice, over N1 and
# over N2 update lines (each a new level and an encrypted phone number, as in bench-bulk.sh);
# the difference divided by N2 - N1 is the cost of one more line, start-up excluded (loading the
# CA certificates, aws-lc's entropy source).
#
# "aws-lc" is every function of aws-lc (its RSA, SHA-2, random numbers, big numbers and
# entropy source); "other" is everything else: our crates, reqwest, hyper, tokio, serde, the
# allocator, libc. Under valgrind aws-lc takes its AVX2 code path (valgrind does not emulate
# AVX-512), so its count is not the one of a native run; the "other" count is.
#
# Usage: scripts/count-instructions.sh [N1 N2]      (default 100 600: about a minute per binary)
# Environment:
#   COMPARE=PATH   another wechatpay-card binary (e.g. a release build of an older commit),
#                  counted the same way, for a side-by-side figure
set -euo pipefail
cd "$(dirname "$0")/.."

n1=${1:-100}
n2=${2:-600}
case "$n1$n2" in *[!0-9]*) echo "count-instructions.sh: N1 and N2 are line counts" >&2; exit 2 ;; esac
if [ "$n2" -le "$n1" ]; then
  echo "count-instructions.sh: N2 must be larger than N1" >&2
  exit 2
fi
if ! command -v valgrind > /dev/null || ! command -v callgrind_annotate > /dev/null; then
  echo "count-instructions.sh: needs valgrind (Debian: apt-get install valgrind)" >&2
  exit 2
fi
compare=${COMPARE:-}
if [ -n "$compare" ] && [ ! -x "$compare" ]; then
  echo "count-instructions.sh: COMPARE=$compare is not an executable" >&2
  exit 2
fi

. scripts/lib.sh

make_cards "$n2" "$work/cards.json"
for n in "$n1" "$n2"; do
  make_updates "$n" "$n2" "$work/input.$n" phone
done
start_sandbox "$work/cards.json"
set -a; . "$work/sandbox/env"; set +a

# Prints "AWSLC OTHER": the instructions BIN executes for a bulk of N lines.
count() {
  local bin=$1 n=$2
  rm -f "$work/journal" "$work/callgrind.out"
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    "$bin" bulk --input "$work/input.$n" --journal "$work/journal" --concurrency 8 --rps off \
    > /dev/null 2> "$work/bulk.log" || { cat "$work/bulk.log" >&2; exit 1; }
  grep -q "$n succeeded, 0 failed" "$work/bulk.log" || { cat "$work/bulk.log" >&2; exit 1; }
  # Exclusive counts per function; aws-lc's symbols (prefixed, or its assembly and entropy
  # source's own names) on one side, the rest on the other.
  callgrind_annotate --inclusive=no --threshold=100 "$work/callgrind.out" 2> /dev/null | awk '
    /PROGRAM TOTALS/ { next }
    /^ *[0-9,]+ \(/ {
      v = $1; gsub(",", "", v)
      if ($0 ~ /aws_lc_|jent_|rol64|xoshiro|rsaz|RSAZ|\?\?\?:bn_|bn_cmp_words|OPENSSL_/) awslc += v; else other += v
    }
    END { printf "%.0f %.0f\n", awslc, other }'
}

# Prints the label's instructions per line.
per_line() {
  local label=$1 bin=$2 a1 o1 a2 o2
  read -r a1 o1 <<< "$(count "$bin" "$n1")"
  read -r a2 o2 <<< "$(count "$bin" "$n2")"
  awk -v l="$label" -v a1="$a1" -v o1="$o1" -v a2="$a2" -v o2="$o2" -v d=$((n2 - n1)) 'BEGIN {
    printf "%-7s %9.0f other  %9.0f aws-lc  instructions per line\n", l, (o2 - o1) / d, (a2 - a1) / d }'
}

echo "== instructions per update line (bulk --concurrency 8, lines $n1 to $n2; callgrind)"
per_line this "$bin"
if [ -n "$compare" ]; then
  per_line compare "$compare"
fi
