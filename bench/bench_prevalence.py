"""MLTC prevalence of the synthetic population against the published figures it is calibrated to.

    python bench/bench_prevalence.py [--people 100000] [--seed 7] [--before COMMIT | --no-before]

Generates `--people` synthetic people with `careweave.synth` (and, for "before", with the generator
as it was at `--before`, default f96710e, taken from git into a temporary folder and run in its own
process), reads the NDJSON into the population extract with the record's own FHIR projections (the
same fields the record keeps), runs the MLTC register and eFI on DuckDB and prints, before and after:

- MLTC (2+ library conditions) by Barnett 2012's age bands against Barnett 2012, and overall;
- adults (18+) against Cassell 2018;
- eFI categories in people 65+ against Clegg 2016;
- how often the medicine-defined conditions fire.

The targets, with their sources, are read from the synth parameters file (`calibration.targets`), so
the figures printed here are the ones the generator claims. Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from careweave.fhir import projection as proj
from careweave.population.compute import compute_outputs
from careweave.population.extract_schema import EXTRACT_SCHEMAS, Extract
from careweave.synth import DEFAULT_REFERENCE_DATE, generate

ROOT = Path(__file__).resolve().parent.parent
MEDICINE_DEFINED = (
    "depression",
    "anxiety",
    "painful_condition",
    "treated_dyspepsia",
    "treated_constipation",
    "irritable_bowel_syndrome",
    "migraine",
    "asthma",
    "epilepsy",
    "psoriasis_eczema",
)


def _lines(path: Path) -> Any:
    if path.exists():
        with path.open("rb") as f:
            for line in f:
                if line.strip():
                    yield orjson.loads(line)


def _table(name: str, columns: dict[str, list[Any]]) -> pa.Table:
    schema = EXTRACT_SCHEMAS[name]
    return pa.table({f.name: pa.array(columns[f.name], type=f.type) for f in schema}, schema=schema)


def read_extract(folder: Path) -> Extract:
    """The six extract tables from synthetic NDJSON, through the record's FHIR projections."""
    orgs: dict[str, int] = {}
    sector: dict[int, str] = {}
    for o in _lines(folder / "Organization.ndjson"):
        orgs[o["id"]] = len(orgs) + 1
        sector[orgs[o["id"]]] = proj.organisation_sector(o)
    pracs = {p["id"]: i + 1 for i, p in enumerate(_lines(folder / "Practitioner.ndjson"))}
    people: dict[str, int] = {}
    cols: dict[str, dict[str, list[Any]]] = {n: {f.name: [] for f in s} for n, s in EXTRACT_SCHEMAS.items()}

    def add(name: str, row: dict[str, Any]) -> None:
        """Append a row: the contract's columns only (a column the row lacks is null)."""
        for column, values in cols[name].items():
            values.append(row.get(column))

    for r in _lines(folder / "Patient.ndjson"):
        f = proj.patient_fields(r)
        pid = people[r["id"]] = len(people) + 1
        practice = proj.registered_practice_id(r)
        add(
            "person",
            {
                "person_id": pid,
                "practice_id": orgs.get(practice or "", 0),
                "birth_date": f["birth_date"],
                "sex": f["sex"] if f["sex"] in ("male", "female", "other") else "unknown",
                "ethnicity_code": f["ethnicity_code"] or None,
                "imd_decile": f["imd_decile"],
                "lsoa": f["lsoa"] or None,
                "deceased": f["deceased"],
                "national_opt_out": f["national_data_opt_out"],
                "deceased_date": f["deceased_date"],
            },
        )
    social = proj.social_need_index()

    def subject(r: dict[str, Any]) -> int | None:
        ref = (r.get("subject") or r.get("patient") or {}).get("reference", "")
        return people.get(ref.partition("/")[2])

    for r in _lines(folder / "Condition.ndjson"):
        f = proj.condition_fields(r)
        add(
            "condition",
            {
                "person_id": subject(r),
                "system": f["system"],
                "code": f["code"],
                "onset_date": f["onset"],
                "recorded_date": f["recorded_date"],
                "clinical_status": f["clinical_status"] or None,
                "verification_status": f["verification_status"] or None,
            },
        )
    for r in _lines(folder / "MedicationRequest.ndjson"):
        f = proj.medication_fields(r, lambda _id: None)
        add(
            "medication",
            {
                "person_id": subject(r),
                "system": f["system"],
                "code": f["code"],
                "display": f["display"] or None,
                "authored_on": f["authored_on"],
                "status": f["status"] or None,
            },
        )
    for r in _lines(folder / "Encounter.ndjson"):
        f = proj.encounter_fields(r)
        org = orgs.get(proj.ref_id(r.get("serviceProvider"), "Organization") or "")
        add(
            "encounter",
            {
                "person_id": subject(r),
                "start": f["start"].replace(tzinfo=None) if f["start"] else None,
                "end": f["end"].replace(tzinfo=None) if f["end"] else None,
                "class_code": f["class_code"] or None,
                "unplanned": f["unplanned"],
                "organisation_id": org,
                "sector": sector.get(org or 0),
                "practitioner_id": pracs.get(proj.encounter_practitioner_id(r) or ""),
                # columns a newer extract contract may carry
                "priority": f.get("priority") or None,
                "type_code": f.get("type_code") or None,
            },
        )
    for r in _lines(folder / "Observation.ndjson"):
        pid = subject(r)
        for row in proj.observation_rows(r):
            if row["code"]:
                effective = row["effective"].replace(tzinfo=None) if row["effective"] else None
                add("observation", {**row, "person_id": pid, "effective": effective})
        for coding in (r.get("code") or {}).get("coding") or []:
            kind = social.get((coding.get("system", ""), coding.get("code", "")))
            if kind:
                recorded = proj.parse_date(r.get("effectiveDateTime"))
                add("social", {"person_id": pid, "kind": kind, "recorded_date": recorded})
    return Extract(**{name: _table(name, c) for name, c in cols.items()}).validate()


def figures(folder: Path, as_of: dt.date) -> dict[str, Any]:
    extract = read_extract(folder)
    out = compute_outputs(extract, as_of, ["features", "condition_evidence"], "duckdb")
    f = out["features"]
    ages = f.column("age").to_pylist()
    mltc = f.column("mltc").to_pylist()
    efi = f.column("efi_category").to_pylist()
    bands = [("0-24", 0, 25), ("25-44", 25, 45), ("45-64", 45, 65), ("65-84", 65, 85), ("85+", 85, 200)]
    result: dict[str, Any] = {"people": f.num_rows, "bands": {}}
    for label, lo, hi in bands:
        idx = [i for i, a in enumerate(ages) if lo <= a < hi]
        result["bands"][label] = sum(mltc[i] for i in idx) / max(len(idx), 1)
    result["overall"] = sum(mltc) / max(len(mltc), 1)
    adults = [i for i, a in enumerate(ages) if a >= 18]
    result["adults"] = sum(mltc[i] for i in adults) / max(len(adults), 1)
    older = [efi[i] for i, a in enumerate(ages) if a >= 65]
    counts = Counter(older)
    result["efi_65"] = {
        k: counts.get(k, 0) / max(len(older), 1) for k in ("fit", "mild", "moderate", "severe")
    }
    ev = out["condition_evidence"]
    medicine = ev.filter(pc.equal(ev.column("evidence"), "medicine")).select(["person_id", "condition_id"])
    by = pc.value_counts(
        medicine.group_by(["person_id", "condition_id"]).aggregate([]).column("condition_id")
    )
    fired = {str(x["values"]): int(x["counts"]) for x in by.to_pylist()}
    result["medicine_route"] = {k: fired.get(k, 0) for k in MEDICINE_DEFINED}
    return result


def _before(commit: str, people: int, seed: int, folder: Path) -> None:
    """Run the generator as it was at `commit` (its own source tree) in a child process."""
    src = folder.parent / "src-before"
    src.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src/careweave"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    code = (
        "import sys; from pathlib import Path; import careweave.synth as s; "
        f"assert s.__file__.startswith({str(src)!r}), s.__file__; "
        f"s.generate({people}, {seed}, Path({str(folder)!r}))"
    )
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def _row(label: str, value: float, target: float | None) -> str:
    if target is None:
        return f"  {label:<10}{value:>8.1%}"
    rel = (value - target) / target if target else 0.0
    verdict = "within 15%" if abs(rel) <= 0.15 else "OUTSIDE 15%"
    return f"  {label:<10}{value:>8.1%}   target {target:>6.1%}   {rel:+6.1%}  {verdict}"


def report(name: str, r: dict[str, Any], targets: dict[str, Any]) -> None:
    barnett = targets["barnett_2012"]["mltc_percent_by_age"]
    print(f"\n{name}: {r['people']:,} living people")
    print("MLTC (2+ library conditions) by age, against Barnett 2012:")
    for label, value in r["bands"].items():
        print(_row(label, value, barnett[label] / 100))
    print(_row("all ages", r["overall"], targets["barnett_2012"]["mltc_percent_overall"] / 100))
    print("Adults (18+), against Cassell 2018:")
    print(_row("18+", r["adults"], targets["cassell_2018"]["mltc_percent_adults"] / 100))
    print("eFI category, people 65+, against Clegg 2016:")
    for k, v in r["efi_65"].items():
        print(_row(k, v, targets["clegg_2016"]["efi_percent_65_plus"][k] / 100))
    print("Medicine-defined conditions met through the medicine route (people):")
    print("  " + ", ".join(f"{k} {v:,}" for k, v in r["medicine_route"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--before", default="f96710e", help="commit of the 'before' generator")
    parser.add_argument("--no-before", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    # Read from this tree's file, so a "before" run under another source tree still has them.
    raw = yaml.safe_load((ROOT / "src/careweave/synth/data/population.yaml").read_text(encoding="utf-8"))
    targets = raw["calibration"]["targets"]
    as_of = DEFAULT_REFERENCE_DATE
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="careweave-prevalence-") as tmp:
        runs = [("after", None)] if args.no_before else [("before", args.before), ("after", None)]
        for name, commit in runs:
            folder = Path(tmp) / name
            began = time.perf_counter()
            if commit is None:
                generate(args.people, args.seed, folder)
            else:
                _before(commit, args.people, args.seed, folder)
            made = time.perf_counter() - began
            results[name] = figures(folder, as_of)
            results[name]["generate_seconds"] = round(made, 1)
            results[name]["total_seconds"] = round(time.perf_counter() - began, 1)
    for name, r in results.items():
        label = f"{name} ({args.before})" if name == "before" else f"{name} (this tree)"
        report(label, r, targets)
        print(
            f"  generated in {r['generate_seconds']}s, register and eFI in {r['total_seconds'] - r['generate_seconds']:.1f}s"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
