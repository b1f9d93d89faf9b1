"""Benchmark the synthetic population generator: people/s, resources/s and peak memory.

    python bench/bench_synth.py [--people N] [--seed S] [--out DIR]

Prints figures; asserts nothing (timings belong in benchmarks, not tests).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from careweave.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="careweave-synth-") as tmp:
        out = args.out or Path(tmp)
        last = [time.perf_counter()]

        def progress(done: int) -> None:
            if done % 100_000 == 0 or done == args.people:
                now = time.perf_counter()
                print(f"  {done:>9,} people  (+{now - last[0]:.1f}s)", file=sys.stderr, flush=True)
                last[0] = now

        summary = generate(args.people, args.seed, out, progress=progress)
        size = sum(p.stat().st_size for p in summary.files)
    # ru_maxrss is in kilobytes on Linux.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = summary.total_resources
    print(f"people              {summary.people:,}")
    print(f"practices           {summary.practices}")
    print(f"resources           {total:,} ({total / summary.people:.1f} per person)")
    for name, count in summary.resources.items():
        print(f"  {name:<18}{count:>14,}")
    print(f"output size         {size / 2**20:,.0f} MiB")
    print(f"seconds             {summary.seconds:,.1f}")
    print(f"people/s            {summary.people / summary.seconds:,.0f}")
    print(f"resources/s         {total / summary.seconds:,.0f}")
    print(f"peak RSS            {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
