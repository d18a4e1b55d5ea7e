#!/usr/bin/env bash
# Whether two builds of autoscale-sim give byte-identical outputs: every
# bundled scenario (both engines, --seed 11 --out), compare, sweep, the
# bundled test suites, and the first day of the month benchmark. For
# changes that must not change behaviour (refactors, speed-ups).
#
#   scripts/same-outputs.sh OLD_BINARY NEW_BINARY
#
# Exits 0 when every output is identical, 1 with the differences otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/^duration = .*/duration = "1d"/' benches/scenarios/month-10k-nodes.toml > "$work/day.toml"

outputs() {
  local bin=$1 out=$2
  mkdir -p "$out"
  for s in simulations/*.toml; do
    local n
    n=$(basename "$s" .toml)
    for e in jit interp; do
      # A scenario the old build cannot read shows as a difference, not a stop.
      "$bin" run "$s" --seed 11 --engine "$e" --out "$out/run-$n-$e" > "$out/run-$n-$e.txt" 2>&1 ||
        echo "exit $?" >> "$out/run-$n-$e.txt"
    done
  done
  "$bin" compare simulations/bursty-day.toml --formula simulations/formulas/pending-tasks.formula \
    --formula simulations/compare/pending-tasks-10.formula --formula simulations/compare/pending-tasks-max.formula \
    --seeds 6 --out "$out/compare" > "$out/compare.txt" 2>&1
  "$bin" sweep simulations/bursty-day.toml --param pool.autoscale.interval=5m,15m,30m --param pool.vm.cores=2,4 \
    --seeds 3 --out "$out/sweep" > "$out/sweep.txt" 2>&1
  "$bin" test simulations/ > "$out/test.txt" 2>&1 || true
  "$bin" run "$work/day.toml" --out "$out/day" > "$out/day.txt" 2>&1
  # The folder names differ between the two runs; nothing else may.
  sed -i "s#$out#OUT#g" "$out"/*.txt
}

outputs "$1" "$work/old"
outputs "$2" "$work/new"
if diff -r "$work/old" "$work/new"; then
  echo "identical: $(find "$work/new" -type f | wc -l) files"
else
  exit 1
fi
