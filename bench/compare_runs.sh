#!/usr/bin/env bash
# Runs `kvbench --mode=compare` several times with the same options and prints
# every run's CSV line plus the median embedded/raw throughput ratio. One
# compare run is raw then embedded back to back; on a shared, noisy machine a
# single ratio can be off by 2x, the median of several is what to quote.
#
# usage: bench/compare_runs.sh [-n RUNS] [-b PATH/TO/kvbench] [kvbench options]
set -euo pipefail

runs=5
kvbench=build/bench/kvbench
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    -b) kvbench=$2; shift 2 ;;
    *) break ;;
  esac
done

header=$("$kvbench" --mode=compare "$@" --csv-header)
echo "$header"
col=$(echo "$header" | tr , '\n' | grep -nx ratio_embedded_raw | cut -d: -f1)
ratios=()
for _ in $(seq "$runs"); do
  line=$("$kvbench" --mode=compare --csv "$@" 2>/dev/null)
  echo "$line"
  ratios+=("$(echo "$line" | cut -d, -f"$col")")
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '
  { r[NR] = $1 }
  END { printf "median embedded/raw over %d runs: %s (min %s, max %s)\n",
               NR, r[int((NR + 1) / 2)], r[1], r[NR] }'
