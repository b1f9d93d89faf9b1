"""Coverage of the bundled condition and eFI code lists against the GM-SDE reference sets, before and after.

    python bench/bench_coverage.py [--before f96710e] [--reference ../shared/reference/codelists/gm-sde-snomed]

"Before" is the lists at commit ``--before`` (read with ``git show``, loaded by today's loaders: the
flat lists still load), "after" the lists in the working tree. For each of the twelve commonest
conditions and the eFI as a whole it prints the share of reference codes we match against the 80%
goal, and how many of the rest the data files name as deliberate differences (``left_out``, each with
its reason). The measurement is the one tests/terminology/test_coverage.py asserts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.terminology.test_coverage import (  # noqa: E402
    BEFORE,
    GOAL,
    REFERENCE,
    Coverage,
    condition_coverage,
    efi_coverage,
)

DATA = "src/careweave/terminology/data"


def _old_file(commit: str, name: str, folder: Path) -> Path:
    shown = subprocess.run(
        ["git", "show", f"{commit}:{DATA}/{name}"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    path = folder / name
    path.write_text(shown.stdout, encoding="utf-8")
    return path


def _cell(row: Coverage) -> str:
    return f"{row.matched:>5}/{row.reference:<5} {100 * row.share:5.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="commit of the lists to compare with")
    parser.add_argument(
        "--reference", type=Path, default=REFERENCE, help="folder of the GM-SDE *.snomed.txt sets"
    )
    args = parser.parse_args()
    if not args.reference.exists():
        print(
            f"{args.reference} not present: coverage is measured against ../shared/reference", file=sys.stderr
        )
        return 1
    with tempfile.TemporaryDirectory() as folder:
        old_conditions = _old_file(args.before, "conditions.yaml", Path(folder))
        old_frailty = _old_file(args.before, "frailty_index.yaml", Path(folder))
        before = condition_coverage(args.reference, old_conditions)
        before_deficits, before_efi = efi_coverage(args.reference, old_frailty)
    after = condition_coverage(args.reference)
    after_deficits, after_efi = efi_coverage(args.reference)

    print(
        f"Coverage of the GM-SDE reference sets (goal {GOAL:.0%} of reference codes, or every miss documented)"
    )
    print(
        f"before = lists at {args.before}; after = working tree; 'left out' = named with a reason in the file\n"
    )
    header = f"{'':<28} {'before':>18}   {'after':>18}   {'left out':>8}  verdict"
    print(header)
    print("-" * len(header))
    for old, new in [*zip(before, after, strict=True), (before_efi, after_efi)]:
        verdict = "meets goal" if new.share >= GOAL else ("all documented" if new.passes else "BELOW GOAL")
        print(f"{new.name:<28} {_cell(old):>18}   {_cell(new):>18}   {new.documented:>8}  {verdict}")
    print("\neFI deficits (after):")
    for old, new in zip(before_deficits, after_deficits, strict=True):
        print(f"  {new.name:<28} {_cell(old):>18}   {_cell(new):>18}   {new.documented:>8}")
    failing = [row.name for row in [*after, after_efi] if not row.passes]
    print(
        f"\n{len(after) + 1 - len(failing)} of {len(after) + 1} meet the bar"
        + (f"; failing: {failing}" if failing else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
