#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (tests/fuzz/clang), writes their
# seed corpora with the project's own encoders and runs each target for a
# bounded time. Fails, naming the crashing input, if any target finds a crash,
# a leak or undefined behaviour.
#
#   tests/fuzz/run_fuzzers.sh [WORK_DIR]     (default: build/fuzz)
#   KV_FUZZ_SECONDS=600 ...                  longer runs (default 20 s each)
#   KV_FUZZ_TARGETS="wire" ...               a subset
#   reproduce: WORK_DIR/bin/fuzz_TARGET WORK_DIR/artifacts/TARGET/crash-...
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$src/../.." && pwd)"
work="${1:-$root/build/fuzz}"
seconds="${KV_FUZZ_SECONDS:-20}"
targets=(${KV_FUZZ_TARGETS:-record_codec wire shell_parser resp_reader})
cxx="${CXX:-clang++}"
case "$cxx" in *clang*) ;; *) cxx=clang++ ;; esac

mkdir -p "$work"
if [ ! -f "$work/bin/CMakeCache.txt" ]; then
  cmake -S "$src/clang" -B "$work/bin" -G Ninja \
    -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
fi
# Other builds share the machine: at most two compile jobs.
cmake --build "$work/bin" --parallel 2

rm -rf "$work/seeds"
"$work/bin/make_seeds" "$work/seeds"

status=0
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"        # grows across runs; never committed
  artifacts="$work/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzz_$t for ${seconds}s"
  if ! "$work/bin/fuzz_$t" -max_total_time="$seconds" -max_len=4096 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts" "$corpus" "$work/seeds/$t" \
      > "$work/$t.log" 2>&1; then
    status=1
    echo "fuzz_$t FAILED; log $work/$t.log; inputs:"
    ls "$artifacts"
    tail -n 60 "$work/$t.log"
  else
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' \
      "$work/$t.log" || true
  fi
done
exit "$status"
