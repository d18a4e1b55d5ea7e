#!/usr/bin/env bash
# The same M/M/100 model (load 0.9, about 1 000 000 customers) run by
# autoscale-sim (benches/scenarios/mmc-100.toml) and by SimPy 4.1.2
# (benches/simpy/mmc.py), each as a whole process; prints both mean waits
# (and Erlang C's) and the ratio of wall times. SimPy is installed in a
# virtual environment under target/.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/simpy-venv
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

ours=$(wall "$tmp/ours" target/release/autoscale-sim run benches/scenarios/mmc-100.toml)
theirs=$(wall "$tmp/theirs" "$venv/bin/python" benches/simpy/mmc.py \
    --servers 100 --rate-per-hour 540 --mean-service-s 600 --hours 1852 --seed 1)
echo "autoscale-sim: $(grep '^queue wait' "$tmp/ours")"
cat "$tmp/theirs"
printf 'wall time: autoscale-sim %.2f s, SimPy %.2f s: %.0fx\n' "$ours" "$theirs" "$(echo "$theirs / $ours" | bc -l)"
