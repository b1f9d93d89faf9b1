"""What the drug-drug interaction rules (issue 13, DDI-ONC-01..15) cost the medicines review: the same
inputs reviewed with the rules before them (a git revision's medicines_rules.yaml, the baseline) and
with the current rules, alternately, twice each, in one process on DuckDB.

Run after ``bench/bench_medicines.py --people 100000`` (it writes the inputs):
``CAREWEAVE_DUCKDB_THREADS=2 .venv/bin/python bench/bench_medicines_ddi.py 042e300 [--people 100000]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import tempfile
import time
from pathlib import Path

from careweave.population.medicines import MedicinesReview, ReviewInputs, run
from careweave.terminology.loading.medicines_rules import load_medicines_rules

AS_OF = dt.date(2026, 6, 30)
RULES = "src/careweave/terminology/data/medicines_rules.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("baseline", help="a git revision whose medicines_rules.yaml has no DDI rules")
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    text = subprocess.run(
        ["git", "show", f"{args.baseline}:{RULES}"], capture_output=True, text=True, check=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        old_path = Path(tmp) / "medicines_rules.yaml"
        old_path.write_text(text.stdout, encoding="utf-8")
        old, new = load_medicines_rules(old_path), load_medicines_rules()
        inputs = ReviewInputs.open(Path(f"/tmp/careweave-bench-medicines-{args.people}"))
        print(f"medicines review of {args.people:,} people on DuckDB, with and without the DDI rules")
        for label, rules in (("baseline (no DDI)", old), ("with DDI", new)) * 2:
            started = time.perf_counter()
            rows, _current = run(inputs, MedicinesReview.of(AS_OF, rules=rules))
            seconds = time.perf_counter() - started
            print(f"  {label:18s} {len(rules.rules):3d} rules {seconds:7.1f} s {rows.num_rows:>10,} rows")


if __name__ == "__main__":
    main()
