"""The M/M/c queue of benches/scenarios/mmc-100.toml in SimPy: c servers,
Poisson arrivals, exponential service, first come first served. Prints the
customers started and their mean wait, and the Erlang C mean wait."""

import argparse
import math
import random

import simpy


def erlang_c_wait(c, arrival_rate, service_rate):
    """Mean wait in queue of an M/M/c queue (Erlang C)."""
    a = arrival_rate / service_rate
    rho = a / c
    terms = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (terms + top)
    return p_wait / (c * service_rate - arrival_rate)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--rate-per-hour", type=float, default=540.0)
    parser.add_argument("--mean-service-s", type=float, default=600.0)
    parser.add_argument("--hours", type=float, default=1852.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=args.servers)
    waits = []

    def customer():
        arrived = env.now
        with servers.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(1.0 / args.mean_service_s))

    def arrivals():
        rate = args.rate_per_hour / 3600.0
        while True:
            yield env.timeout(rng.expovariate(rate))
            env.process(customer())

    env.process(arrivals())
    env.run(until=args.hours * 3600.0)
    mean = sum(waits) / len(waits)
    theory = erlang_c_wait(args.servers, args.rate_per_hour / 3600.0, 1.0 / args.mean_service_s)
    print(f"simpy: {len(waits)} customers started, mean wait {mean:.1f} s (Erlang C: {theory:.1f} s)")


if __name__ == "__main__":
    main()
