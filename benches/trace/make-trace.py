"""Writes the CSV task trace of the trace benchmark
(benches/scenarios/trace-10m.toml): 10 000 000 tasks, Poisson arrivals at
5400 an hour (about 1851 hours), exponential run times with a mean of
10 minutes: load 0.9 on the scenario's 1000 nodes. Rows in submit order,
as a trace must be to be read as the run goes.
Usage: python3 benches/trace/make-trace.py OUT.csv [TASKS]"""

import random
import sys


def main():
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
    rng = random.Random(1)
    with open(sys.argv[1], "w") as out:
        out.write("submit,duration\n")
        t = 0.0
        for _ in range(tasks):
            t += rng.expovariate(5400 / 3600)
            out.write(f"{t:.3f},{rng.expovariate(1 / 600):.3f}\n")


if __name__ == "__main__":
    main()
