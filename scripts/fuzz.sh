#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for SECONDS each (default 20), one after another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs a nightly toolchain (`cargo +nightly`); installs cargo-fuzz when it is missing. Each
# target starts from its committed seeds (fuzz/seeds/<target>/, copied into the ignored working
# corpus fuzz/corpus/<target>/, which keeps what earlier runs found), with a 256 MB RSS limit
# and a per-input timeout. Exits non-zero when any target crashes, times out or runs out of
# memory; the input that did it is in fuzz/artifacts/<target>/.
#
# Built without a sanitizer (`-s none`): the library forbids unsafe code, so AddressSanitizer
# would find nothing that Rust's checks (debug assertions on, as cargo fuzz builds) do not, and
# it would halve the executions.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET="${1:-20}"
shift || true
case "$SECONDS_PER_TARGET" in
  '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$SECONDS_PER_TARGET'" >&2; exit 2 ;;
esac
TIMEOUT_PER_INPUT="${FUZZ_INPUT_TIMEOUT:-10}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: a nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "=== cargo install cargo-fuzz --locked"
  cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "=== cargo +nightly fuzz build -s none (${#targets[@]} targets)"
cargo +nightly fuzz build -s none

failed=()
for target in "${targets[@]}"; do
  corpus="corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  if [ -d "seeds/$target" ]; then
    cp -n seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  fi
  echo "=== fuzz $target for ${SECONDS_PER_TARGET}s"
  log="artifacts/$target/last-run.log"
  status=0
  cargo +nightly fuzz run -s none "$target" "$corpus" -- \
    -max_total_time="$SECONDS_PER_TARGET" \
    -rss_limit_mb=256 \
    -timeout="$TIMEOUT_PER_INPUT" \
    -max_len=65536 \
    -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  grep -E '^(Done [0-9]+ runs|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|==[0-9]+== ERROR|SUMMARY|thread .* panicked)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "!!! $target failed (exit $status): see fuzz/$log and the crash-/timeout-/oom- file beside it" >&2
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ran ${SECONDS_PER_TARGET}s each: no crash, timeout or OOM"
