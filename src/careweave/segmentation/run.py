"""Run segmentation on the shared care record and store it as a versioned run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction

from careweave.governance.audit import record_system_event
from careweave.population import worklists as pw
from careweave.population.segment import SegmentationResult, StageTimer, planning_aggregates, segment
from careweave.record.bulk import analyze, insert_rows
from careweave.segmentation import models as sm
from careweave.segmentation.extract import build_extract, default_as_of
from careweave.terminology import load_condition_library, load_social_needs


def active_overrides() -> list[pw.WorklistOverride]:
    return [
        pw.WorklistOverride(
            person_id=o.person_id,
            list_id=o.list_id,
            action=o.action,  # type: ignore[arg-type]
            reason=o.reason,
            review_on=o.review_on,
        )
        for o in sm.WorklistOverride.objects.filter(active=True).order_by("created_at", "pk")
    ]


def run_segmentation(
    *,
    engine: Literal["duckdb", "spark"] = "duckdb",
    classes: int | Literal["auto"] = "auto",
    seed: int = 0,
    as_of: dt.date | None = None,
    export_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[sm.SegmentationRun, SegmentationResult]:
    as_of = as_of or dt.date.today()
    timer = StageTimer()
    say = progress or (lambda _s: None)
    say("extract")
    with timer.stage("extract"):
        extract = build_extract()
    library = load_condition_library()
    labels = {f"cond_{c.id}": c.name for c in library.conditions} | {
        need.id: need.name.lower() for need in load_social_needs()
    }
    result = segment(
        extract,
        as_of=as_of,
        engine=engine,
        classes=classes,
        seed=seed,
        overrides=active_overrides(),
        indicator_labels=labels,
        social_columns=[n.id for n in load_social_needs()],
        progress=say,
    )
    say("storing the run")
    with timer.stage("store"):
        run = store(result, seed=seed, library_version=library.version)
    analyze(
        (sm.WorklistEntry, sm.PersonSegment, sm.RegisterEntry)
    )  # worklist pages planned on the run's real size
    if export_dir is not None:
        with timer.stage("export"):
            export(result, export_dir)
    timings = {**timer.stages, **result.timings}
    run.timings = timings
    run.save(update_fields=["timings"])
    record_system_event(
        "segment",
        "careweave segment",
        detail=f"run {run.pk}: {run.people_count} people, {run.register_size} on the register",
    )
    return run, result


@transaction.atomic
def register_listing(
    *, as_of: dt.date | None = None, engine: Literal["duckdb", "spark"] = "duckdb"
) -> list[dict[str, Any]]:
    """``careweave register``: every person alive on ``as_of`` with at least one library condition,
    from the record through the extract and the engine ``careweave segment`` uses (no second
    implementation), each with their NHS number first. Audited as a system event (counts only)."""
    from careweave.population.compute import compute_outputs
    from careweave.population.register import person_register
    from careweave.record import models as rm

    when = as_of or default_as_of()
    outputs = compute_outputs(build_extract(), when, ("features", "condition_evidence"), engine)
    rows = person_register(outputs["features"], outputs["condition_evidence"])
    numbers = dict(
        rm.Person.objects.filter(pk__in=[r["person_id"] for r in rows]).values_list("pk", "nhs_number")
    )
    listing = [{"nhs_number": numbers.get(r["person_id"]) or None, **r} for r in rows]
    for entry in listing:
        entry.pop("person_id")
    record_system_event(
        "register",
        "careweave register",
        detail=f"as of {when.isoformat()}: {len(listing)} people with a condition, "
        f"{sum(1 for e in listing if e['on_register'])} on the register",
    )
    return listing


def _finite(value: float) -> float | None:
    """JSON (and PostgreSQL jsonb) has no NaN: an unknown figure is stored as null."""
    return value if math.isfinite(value) else None


def store(result: SegmentationResult, *, seed: int, library_version: str) -> sm.SegmentationRun:
    model = result.model
    version = hashlib.sha256(
        f"{result.engine}|{result.as_of}|{model.version}|{library_version}".encode()
    ).hexdigest()[:16]
    sm.SegmentationRun.objects.filter(is_current=True).update(is_current=False)
    run = sm.SegmentationRun.objects.create(
        version=version,
        engine=result.engine,
        as_of=result.as_of,
        seed=seed,
        people_count=result.features.num_rows,
        register_size=result.register_size,
        n_classes=model.n_classes,
        model_version=model.version,
        model_json=model.to_json(),
        indicators=result.indicators,
        class_selection=json.loads(json.dumps(result.class_selection, default=float)),
        library_version=library_version,
        is_current=True,
    )
    for description in result.clusters:
        top = [r.label for r in description.over_represented[:3]]
        sm.Cluster.objects.create(
            run=run,
            number=description.cluster,
            size=description.size,
            share=description.share,
            label=", ".join(top) if top else "Fewer distinctive conditions",
            staff_description=description.staff_description,
            person_sentence=description.lay_sentence,
            profile={
                "median_age": description.median_age,
                "age_bands": description.age_bands,
                "female_share": description.female_share,
                # what the person's sentence compares them with (population.cluster_description)
                "mean_conditions": _finite(description.mean_conditions),
                "overall_mean_conditions": _finite(description.overall_mean_conditions),
                "deprivation_quintiles": {str(k): v for k, v in description.deprivation_quintiles.items()},
                "over_represented": [
                    {
                        "key": r.key,
                        "label": r.label,
                        "kind": r.kind,
                        "ratio": r.ratio,
                        "observed": r.observed,
                        "expected": r.expected,
                    }
                    for r in description.over_represented
                ],
                "indicators": [
                    {"key": r.key, "label": r.label, "ratio": r.ratio, "observed": r.observed}
                    for r in description.indicators
                ],
                "outcomes": [
                    {
                        "key": o.key,
                        "label": o.label,
                        "rate": o.rate,
                        "overall_rate": o.overall_rate,
                        "ratio": o.ratio,
                    }
                    for o in description.outcomes
                ],
            },
        )
    features = result.features
    core = (
        "person_id",
        "cluster",
        "cluster_probability",
        "condition_count",
        "mltc",
        "complex_mltc",
        "cms_score",
        "efi_score",
        "efi_category",
        "medicine_count_3m",
        "unplanned_contacts_12m",
    )
    extra = [c for c in features.column_names if c not in core and not c.startswith("cond_")]
    columns = {c: features.column(c).to_pylist() for c in (*core, *extra)}
    conditions = [c for c in features.column_names if c.startswith("cond_")]
    present = [features.column(c).to_pylist() for c in conditions]
    segments = []
    for i, person_id in enumerate(columns["person_id"]):
        extras = {c: columns[c][i] for c in extra}
        extras["conditions"] = [
            conditions[j].removeprefix("cond_") for j in range(len(conditions)) if present[j][i]
        ]
        segments.append(
            sm.PersonSegment(
                run=run,
                person_id=person_id,
                cluster=columns["cluster"][i],
                cluster_probability=columns["cluster_probability"][i],
                condition_count=columns["condition_count"][i],
                mltc=columns["mltc"][i],
                complex_mltc=columns["complex_mltc"][i],
                cms_score=columns["cms_score"][i],
                efi_score=columns["efi_score"][i],
                efi_category=columns["efi_category"][i],
                medicine_count_3m=columns["medicine_count_3m"][i],
                unplanned_contacts_12m=columns["unplanned_contacts_12m"][i],
                features=json.loads(json.dumps(extras, default=str)),
            )
        )
    insert_rows(sm.PersonSegment, segments)
    register = result.register.to_pylist()
    insert_rows(
        sm.RegisterEntry,
        [
            sm.RegisterEntry(
                run=run,
                person_id=r["person_id"],
                condition_id=r["condition_id"],
                condition_name=r["condition_name"][:255],
                system=r["system"][:255],
                code=r["code"][:64],
                date=r["date"],
                evidence=r["evidence"][:32],
            )
            for r in register
        ],
    )
    practice_of = (
        dict(zip(columns["person_id"], features.column("practice_id").to_pylist(), strict=True))
        if "practice_id" in features.column_names
        else {}
    )
    insert_rows(
        sm.WorklistEntry,
        [
            sm.WorklistEntry(
                run=run,
                person_id=w["person_id"],
                list_id=w["list_id"],
                reasons=w["reasons"],
                source=w["source"],
                added_by_clinician=w["overridden"],
                priority=w["priority"],
                priority_parts=w["priority_parts"],
                practice_id=practice_of.get(w["person_id"]) or None,  # 0 in the extract: none
            )
            for w in result.worklists.to_pylist()
        ],
    )
    return run


def export(result: SegmentationResult, directory: Path) -> None:
    """Per-person results (direct care: everyone) and aggregates for planning (opt-outs excluded,
    small numbers suppressed) as Parquet."""
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(result.features, directory / "people.parquet")
    pq.write_table(result.register, directory / "register.parquet")
    pq.write_table(result.worklists, directory / "worklists.parquet")
    pq.write_table(planning_aggregates(result), directory / "planning_aggregates.parquet")
    clusters: list[dict[str, Any]] = [
        {
            "cluster": d.cluster,
            "size": d.size if d.size >= 10 else None,
            "share": d.share,
            "median_age": d.median_age,
            "staff_description": d.staff_description,
            "person_sentence": d.lay_sentence,
            "over_represented": json.dumps(
                [{"label": r.label, "ratio": r.ratio} for r in d.over_represented]
            ),
        }
        for d in result.clusters
    ]
    pq.write_table(pa.Table.from_pylist(clusters), directory / "clusters.parquet")
