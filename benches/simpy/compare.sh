#!/usr/bin/env bash
# The same M/M/100 model (load 0.9, about 1 000 000 customers) run by
# autoscale-sim (benches/scenarios/mmc-100.toml) and by SimPy 4.1.2
# (benches/simpy/mmc.py), each as a whole process; prints both mean waits
# (and Erlang C's) and the ratio of wall times. SimPy is installed in a
# virtual environment under the target folder ($CARGO_TARGET_DIR, or
# target/). The two run in turn, REPS times (default 3), since a shared
# machine's speed changes from minute to minute: each pair's ratio is
# printed, then the ratio of the best times.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${CARGO_TARGET_DIR:-target}
reps=${REPS:-3}
venv=$target/simpy-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q simpy==4.1.2
cargo build --release -q

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Wall time of a command in seconds; its stdout goes to the file given first.
wall() {
    local file=$1 start end
    shift
    start=$(date +%s.%N)
    "$@" >"$file"
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

best_ours=inf best_theirs=inf
for rep in $(seq "$reps"); do
    ours=$(wall "$tmp/ours" "$target/release/autoscale-sim" run benches/scenarios/mmc-100.toml)
    theirs=$(wall "$tmp/theirs" "$venv/bin/python" benches/simpy/mmc.py \
        --servers 100 --rate-per-hour 540 --mean-service-s 600 --hours 1852 --seed 1)
    printf 'run %d: autoscale-sim %.2f s, SimPy %.2f s: %.0fx\n' "$rep" "$ours" "$theirs" "$(echo "$theirs / $ours" | bc -l)"
    best_ours=$(printf '%s\n' "$best_ours" "$ours" | sort -g | head -1)
    best_theirs=$(printf '%s\n' "$best_theirs" "$theirs" | sort -g | head -1)
done
echo "autoscale-sim: $(grep '^queue wait' "$tmp/ours")"
cat "$tmp/theirs"
printf 'wall time, best of %d: autoscale-sim %.2f s, SimPy %.2f s: %.0fx\n' \
    "$reps" "$best_ours" "$best_theirs" "$(echo "$best_theirs / $best_ours" | bc -l)"
