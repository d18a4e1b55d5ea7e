"""Writes a synthetic SWF log of 1 000 000 records for the SWF throughput
benchmark (benches/scenarios/swf-1m.toml): arrivals every 3 s on average,
run times exponential with a mean of 10 minutes, 1 to 16 processors, one
record in ten failed or cancelled. Usage: python3 benches/swf/make-log.py OUT.swf"""

import random
import sys


def main():
    rng = random.Random(1)
    with open(sys.argv[1], "w") as out:
        out.write("; Version: 2.2\n; UnixStartTime: 1041377400\n; MaxProcs: 1024\n")
        t = 0.0
        for job in range(1, 1_000_001):
            t += rng.expovariate(1 / 3.0)
            run = int(rng.expovariate(1 / 600.0))
            procs = rng.choice([1, 1, 1, 2, 4, 8, 16])
            status = rng.choice([1] * 18 + [0, 5])
            out.write(f"{job} {int(t)} 0 {run} {procs} -1 -1 {procs} -1 -1 {status} 1 1 1 1 1 -1 -1\n")


if __name__ == "__main__":
    main()
