"""Monitoring: the checks a person's conditions and current drugs call for, at the interval their
stage calls for, and which are overdue.

A rule applies to a person with its condition, or on its drug (an issue of the medicine class within
the schedules' ``current_issue_months``). Its interval is that of the first stage row that holds
(every named stage in one of its bands; for a drug, optionally the earliest issue in the record within
N months), else its default. A person's stage is the band of the latest value (scaled to the stage's
unit; at one time the most severe band) or of their age. The item is overdue when the check's latest
observation is on or before the window start (or there is none). A check due for several reasons
counts once, at the shortest interval, in ``overdue_monitoring_count`` and
``overdue_monitoring_detail``; ``monitoring_due`` keeps every applicable rule.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from careweave.population.features import FeatureSpecification, months_before
from careweave.population.sql.common import Context, Step, code_table, date_literal

MONTH_NAMES: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def lookups(spec: FeatureSpecification) -> dict[str, pa.Table]:
    """Rules, their stage rows (windows resolved against as_of), checks, codes, stages and drug classes."""
    as_of = spec.as_of
    schedules = spec.knowledge.monitoring_schedules
    rules = schedules.rules
    checks = schedules.checks
    rows = [(rule, rank, row) for rule in rules for rank, row in enumerate(rule.rows)]
    when = [(rule.id, rank, stage, band) for rule, rank, row in rows for stage, bands in row.when for band in bands]
    stage_codes = sorted((s.id, code, factor) for s in schedules.stages for code, factor in s.values)
    bands = [(s, rank, b) for s in schedules.stages for rank, b in enumerate(s.bands)]
    drug_classes = {r.subject for r in rules if r.kind == "drug"}
    classes = [m for m in spec.knowledge.medicine_classes if m.id in drug_classes]
    ingredients = sorted({(i.lower(), m.id) for m in classes for i in m.ingredients if i})
    return {
        "lk_mon_rule": pa.table(
            {
                "rule_id": pa.array([r.id for r in rules], pa.string()),
                "rule_rank": pa.array(range(len(rules)), pa.int32()),
                "kind": pa.array([r.kind for r in rules], pa.string()),
                "subject": pa.array([r.subject for r in rules], pa.string()),
                "check_id": pa.array([r.check.id for r in rules], pa.string()),
                "name": pa.array([r.name for r in rules], pa.string()),
            }
        ),
        "lk_mon_schedule": pa.table(
            {
                "rule_id": pa.array([r.id for r, _, _ in rows], pa.string()),
                "row_rank": pa.array([k for _, k, _ in rows], pa.int32()),
                "interval_count": pa.array([x.interval.count for _, _, x in rows], pa.int32()),
                "interval_unit": pa.array([x.interval.unit for _, _, x in rows], pa.string()),
                "interval_text": pa.array([x.interval.text for _, _, x in rows], pa.string()),
                "window_start": pa.array([x.interval.window_start(as_of) for _, _, x in rows], pa.date32()),
                "started_after": pa.array(
                    [
                        None if x.started_within_months is None else months_before(as_of, x.started_within_months)
                        for _, _, x in rows
                    ],
                    pa.date32(),
                ),
                "n_when": pa.array([len(x.when) for _, _, x in rows], pa.int32()),
            }
        ),
        "lk_mon_when": pa.table(
            {
                "rule_id": pa.array([w[0] for w in when], pa.string()),
                "row_rank": pa.array([w[1] for w in when], pa.int32()),
                "stage_id": pa.array([w[2] for w in when], pa.string()),
                "band_id": pa.array([w[3] for w in when], pa.string()),
            }
        ),
        "lk_mon_check": pa.table(
            {
                "check_id": pa.array([c.id for c in checks], pa.string()),
                "check_rank": pa.array(range(len(checks)), pa.int32()),
            }
        ),
        "lk_mon_code": code_table([(code, c.id) for c in checks for code in c.codes], "check_id"),
        "lk_mon_stage_code": pa.table(
            {
                "stage_id": pa.array([s[0] for s in stage_codes], pa.string()),
                "system": pa.array([s[1][0] for s in stage_codes], pa.string()),
                "code": pa.array([s[1][1] for s in stage_codes], pa.string()),
                "factor": pa.array([s[2] for s in stage_codes], pa.float64()),
            }
        ),
        "lk_mon_stage_band": pa.table(
            {
                "stage_id": pa.array([s.id for s, _, _ in bands], pa.string()),
                "measure": pa.array([s.measure for s, _, _ in bands], pa.string()),
                "band_id": pa.array([b.id for _, _, b in bands], pa.string()),
                "band_rank": pa.array([k for _, k, _ in bands], pa.int32()),
                "low": pa.array([b.low for _, _, b in bands], pa.float64()),
                "high": pa.array([b.high for _, _, b in bands], pa.float64()),
            }
        ),
        "lk_mon_drug_code": code_table([(code, m.id) for m in classes for code in m.codes], "class_id"),
        "lk_mon_drug_ingredient": pa.table(
            {
                "ingredient": pa.array([i[0] for i in ingredients], pa.string()),
                "class_id": pa.array([i[1] for i in ingredients], pa.string()),
            }
        ),
    }


def _in_band(value: str, band: str = "b") -> str:
    return f"({band}.low IS NULL OR {value} >= {band}.low) AND ({band}.high IS NULL OR {value} < {band}.high)"


def _date_text(column: str) -> str:
    """``14 March 2025`` in SQL both engines run (no dialect's date formatting)."""
    months = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(MONTH_NAMES, start=1))
    return (
        f"CAST(DAY({column}) AS STRING) || ' ' || CASE MONTH({column}) {months} END || ' ' || "
        f"CAST(YEAR({column}) AS STRING)"
    )


def steps(ctx: Context) -> list[Step]:
    """Last observation per check, stages, current drugs, the applicable rules, and the summary."""
    as_of = ctx.as_of
    current_start = date_literal(months_before(ctx.windows.as_of, ctx.knowledge.monitoring_schedules.current_issue_months))
    observed = f"o.effective IS NOT NULL AND CAST(o.effective AS DATE) <= {as_of}"
    return [
        Step(
            "mon_last",
            f"""SELECT person_id, check_id, obs_date, system, code, value FROM (
          SELECT o.person_id, m.check_id, CAST(o.effective AS DATE) AS obs_date, o.system, o.code, o.value,
                 ROW_NUMBER() OVER (PARTITION BY o.person_id, m.check_id
                                    ORDER BY o.effective DESC, o.system ASC, o.code ASC, o.value DESC NULLS LAST) AS rn
          FROM observation o JOIN lk_mon_code m ON o.system = m.system AND o.code = m.code
          WHERE {observed}) x
        WHERE rn = 1""",
            materialize=True,
        ),
        Step(
            "mon_stage",
            f"""WITH sv AS (
          SELECT o.person_id, s.stage_id, o.effective, o.value * s.factor AS v
          FROM observation o JOIN lk_mon_stage_code s ON o.system = s.system AND o.code = s.code
          WHERE {observed} AND o.value IS NOT NULL),
        latest AS (SELECT person_id, stage_id, MAX(effective) AS effective FROM sv GROUP BY person_id, stage_id),
        ranked AS (
          SELECT sv.person_id, sv.stage_id, MAX(b.band_rank) AS band_rank
          FROM sv
          JOIN latest l ON l.person_id = sv.person_id AND l.stage_id = sv.stage_id AND l.effective = sv.effective
          JOIN lk_mon_stage_band b ON b.stage_id = sv.stage_id AND {_in_band("sv.v")}
          GROUP BY sv.person_id, sv.stage_id)
        SELECT r.person_id, r.stage_id, b.band_id
        FROM ranked r JOIN lk_mon_stage_band b ON b.stage_id = r.stage_id AND b.band_rank = r.band_rank
        UNION ALL
        SELECT p.person_id, b.stage_id, b.band_id
        FROM people p JOIN lk_mon_stage_band b ON b.measure = 'age' AND {_in_band("p.age")}""",
        ),
        # Current drugs of the monitored classes (by code, or ingredient in the display text, as the
        # medicine rules match), with the earliest issue in the record.
        Step(
            "mon_drug",
            f"""WITH display_class AS (
          SELECT d.display_lower, i.class_id
          FROM (SELECT DISTINCT LOWER(display) AS display_lower FROM medication_issued WHERE display IS NOT NULL) d
          JOIN lk_mon_drug_ingredient i ON INSTR(d.display_lower, i.ingredient) > 0),
        issues AS (
          SELECT m.person_id, k.class_id, m.authored_on
          FROM medication_issued m JOIN lk_mon_drug_code k ON m.system = k.system AND m.code = k.code
          UNION ALL
          SELECT m.person_id, x.class_id, m.authored_on
          FROM medication_issued m JOIN display_class x ON LOWER(m.display) = x.display_lower)
        SELECT person_id, class_id, MIN(authored_on) AS first_issue
        FROM issues GROUP BY person_id, class_id
        HAVING MAX(authored_on) > {current_start}""",
        ),
        Step(
            "mon_applicable",
            """SELECT pc.person_id, r.rule_id, CAST(NULL AS DATE) AS first_issue
        FROM person_condition pc JOIN lk_mon_rule r ON r.kind = 'condition' AND r.subject = pc.condition_id
        UNION ALL
        SELECT d.person_id, r.rule_id, d.first_issue
        FROM mon_drug d
        JOIN people p ON p.person_id = d.person_id
        JOIN lk_mon_rule r ON r.kind = 'drug' AND r.subject = d.class_id""",
        ),
        Step(
            "monitoring_due",
            """WITH met AS (
          SELECT a.person_id, w.rule_id, w.row_rank, COUNT(DISTINCT w.stage_id) AS met
          FROM mon_applicable a
          JOIN lk_mon_when w ON w.rule_id = a.rule_id
          JOIN mon_stage s ON s.person_id = a.person_id AND s.stage_id = w.stage_id AND s.band_id = w.band_id
          GROUP BY a.person_id, w.rule_id, w.row_rank),
        chosen AS (
          SELECT a.person_id, a.rule_id, MIN(s.row_rank) AS row_rank
          FROM mon_applicable a
          JOIN lk_mon_schedule s ON s.rule_id = a.rule_id
          LEFT JOIN met ON met.person_id = a.person_id AND met.rule_id = s.rule_id AND met.row_rank = s.row_rank
          WHERE COALESCE(met.met, 0) = s.n_when AND (s.started_after IS NULL OR a.first_issue > s.started_after)
          GROUP BY a.person_id, a.rule_id)
        SELECT c.person_id, r.rule_id, r.rule_rank, r.kind, r.subject AS subject_id, r.check_id, r.name,
               s.interval_count, s.interval_unit, s.interval_text, s.window_start,
               l.system AS last_system, l.code AS last_code, l.obs_date AS last_date, l.value AS last_value,
               (l.obs_date IS NULL OR l.obs_date <= s.window_start) AS overdue
        FROM chosen c
        JOIN lk_mon_rule r ON r.rule_id = c.rule_id
        JOIN lk_mon_schedule s ON s.rule_id = c.rule_id AND s.row_rank = c.row_rank
        LEFT JOIN mon_last l ON l.person_id = c.person_id AND l.check_id = r.check_id""",
            materialize=True,
        ),
        _summary_step(ctx),
    ]


def _summary_step(ctx: Context) -> Step:
    """Per person: overdue checks (each once, at its shortest interval) and the detail text."""
    checks = ctx.knowledge.monitoring_schedules.checks
    slots = ", ".join(f"MAX(CASE WHEN i.check_rank = {rank} THEN i.item END)" for rank in range(len(checks)))
    item = (
        "d.name || CASE WHEN d.last_date IS NULL THEN ' never recorded' ELSE ' last recorded ' || "
        f"{_date_text('d.last_date')} END || ', due ' || d.interval_text"
    )
    return Step(
        "monitoring",
        f"""WITH per_check AS (
          SELECT d.*, ROW_NUMBER() OVER (PARTITION BY d.person_id, d.check_id
                                         ORDER BY d.window_start DESC, d.rule_rank ASC) AS rn
          FROM monitoring_due d),
        items AS (
          SELECT d.person_id, k.check_rank, {item} AS item
          FROM per_check d JOIN lk_mon_check k ON k.check_id = d.check_id
          WHERE d.rn = 1 AND d.overdue)
        SELECT i.person_id, COUNT(*) AS overdue, {f"CONCAT_WS('; ', {slots})" if checks else "NULL"} AS detail
        FROM items i GROUP BY i.person_id""",
    )


#: The columns of the ``monitoring_due`` output, in order.
DUE_COLUMNS: Final = (
    "person_id", "rule_id", "kind", "subject_id", "check_id", "name", "interval_count", "interval_unit",
    "interval_text", "last_system", "last_code", "last_date", "last_value", "overdue",
)  # fmt: skip

