"""Long-term conditions: the condition lookups, coded diagnoses, who has which condition, the register.

A condition is met by diagnosis, by medicine or both (``requires``); the medicine route's steps are in
:mod:`careweave.population.sql.medicines`, and :func:`summary_steps` joins the two routes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa

from careweave.population.features import FeatureSpecification
from careweave.population.sql.common import (
    ACTIVE_STATUSES,
    CONDITION_DATE,
    Context,
    Step,
    code_table,
    flag,
    string_list,
)


def _cms_units(weight: float | None) -> int | None:
    return None if weight is None else round(weight * 10_000)


def lookups(spec: FeatureSpecification) -> dict[str, pa.Table]:
    """Condition definitions (windows resolved to dates against ``spec.as_of``) and their codes."""
    as_of = spec.as_of
    conditions = spec.knowledge.conditions
    days_before: Callable[[int | None], dt.date | None] = lambda days: (  # noqa: E731
        None if days is None else as_of - dt.timedelta(days=days)
    )
    lk_condition = pa.table(
        {
            "condition_id": pa.array([c.id for c in conditions], pa.string()),
            "condition_name": pa.array([c.name for c in conditions], pa.string()),
            "category": pa.array([c.category for c in conditions], pa.string()),
            "requires": pa.array([c.requires for c in conditions], pa.string()),
            "dx_window_start": pa.array(
                [days_before(c.diagnosis_window_days) for c in conditions], pa.date32()
            ),
            "cms_component": pa.array([c.cms_component or c.id for c in conditions], pa.string()),
            "cms_weight_units": pa.array([_cms_units(c.cms_weight) for c in conditions], pa.int64()),
            "rx_min_issues": pa.array(
                [c.medicine_rule.min_issues if c.medicine_rule else None for c in conditions], pa.int64()
            ),
            "rx_window_start": pa.array(
                [days_before(c.medicine_rule.window_days) if c.medicine_rule else None for c in conditions],
                pa.date32(),
            ),
            "rx_with_diagnosis_ever": pa.array(
                [bool(c.medicine_rule and c.medicine_rule.with_diagnosis_ever) for c in conditions],
                pa.bool_(),
            ),
        }
    )
    return {
        "lk_condition": lk_condition,
        "lk_condition_code": code_table([(code, c.id) for c in conditions for code in c.codes], "condition_id"),
    }


def coded_steps(ctx: Context) -> list[Step]:
    """Diagnostic codes of library conditions, and those within each condition's diagnosis window."""
    return [
        # Diagnostic codes of library conditions in an active clinical status, dated on or before as_of.
        Step(
            "condition_coded",
            f"""SELECT c.person_id, k.condition_id, c.system, c.code, {CONDITION_DATE} AS event_date
        FROM condition c JOIN lk_condition_code k ON c.system = k.system AND c.code = k.code
        WHERE (c.clinical_status IS NULL OR c.clinical_status IN ({ACTIVE_STATUSES}))
          AND ({CONDITION_DATE} IS NULL OR {CONDITION_DATE} <= {ctx.as_of})""",
            materialize=True,
        ),
        Step(
            "diagnosis_evidence",
            """SELECT e.person_id, e.condition_id, e.system, e.code, e.event_date
        FROM condition_coded e JOIN lk_condition d ON e.condition_id = d.condition_id
        WHERE d.dx_window_start IS NULL OR e.event_date > d.dx_window_start""",
            materialize=True,
        ),
    ]


def summary_steps(ctx: Context) -> list[Step]:
    """Who has which condition (by the route it requires), and per person counts and flags."""
    condition_flags = ",\n".join(
        f"{flag(f'pc.condition_id = {string_list([c.id])}')} AS {ctx.dialect.quote('cond_' + c.id)}"
        for c in ctx.knowledge.conditions
    )
    return [
        Step(
            "person_condition",
            """WITH dx AS (SELECT DISTINCT person_id, condition_id FROM diagnosis_evidence),
        routes AS (
          SELECT COALESCE(dx.person_id, rx.person_id) AS person_id,
                 COALESCE(dx.condition_id, rx.condition_id) AS condition_id,
                 dx.person_id IS NOT NULL AS has_diagnosis, rx.person_id IS NOT NULL AS has_medicine
          FROM dx FULL OUTER JOIN medicine_qualified rx
            ON dx.person_id = rx.person_id AND dx.condition_id = rx.condition_id)
        SELECT r.person_id, r.condition_id, r.has_diagnosis, r.has_medicine
        FROM routes r
        JOIN lk_condition d ON r.condition_id = d.condition_id
        JOIN people p ON p.person_id = r.person_id
        WHERE (d.requires = 'diagnosis' AND r.has_diagnosis)
           OR (d.requires = 'medicine' AND r.has_medicine)
           OR (d.requires = 'diagnosis_and_medicine' AND r.has_diagnosis AND r.has_medicine)
           OR (d.requires = 'diagnosis_or_medicine' AND (r.has_diagnosis OR r.has_medicine))""",
            materialize=True,
        ),
        Step(
            "condition_summary",
            f"""SELECT pc.person_id, COUNT(*) AS condition_count,
          {flag("d.category = 'physical'")} AS has_physical,
          {flag("d.category = 'mental'")} AS has_mental{"," if condition_flags else ""}
          {condition_flags}
        FROM person_condition pc JOIN lk_condition d ON pc.condition_id = d.condition_id
        GROUP BY pc.person_id""",
            materialize=True,
        ),
    ]


def register_step() -> Step:
    """The MLTC register: every code and date that put a person with 2+ conditions on it."""
    return Step(
        "register",
        """WITH registered AS (
          SELECT pc.person_id, pc.condition_id, d.condition_name, d.requires, d.rx_with_diagnosis_ever,
                 pc.has_diagnosis, pc.has_medicine
          FROM person_condition pc
          JOIN condition_summary cs ON cs.person_id = pc.person_id AND cs.condition_count >= 2
          JOIN lk_condition d ON d.condition_id = pc.condition_id)
        SELECT DISTINCT r.person_id, r.condition_id, r.condition_name, 'diagnosis' AS evidence, e.system, e.code,
               e.event_date AS evidence_date
        FROM registered r JOIN diagnosis_evidence e ON e.person_id = r.person_id AND e.condition_id = r.condition_id
        WHERE r.has_diagnosis AND r.requires <> 'medicine'
        UNION ALL
        SELECT r.person_id, r.condition_id, r.condition_name, 'medicine' AS evidence, m.system, m.code,
               m.authored_on AS evidence_date
        FROM registered r JOIN medicine_evidence m ON m.person_id = r.person_id AND m.condition_id = r.condition_id
        WHERE r.has_medicine AND r.requires <> 'diagnosis'
        UNION ALL
        SELECT DISTINCT r.person_id, r.condition_id, r.condition_name, 'diagnosis_ever' AS evidence, e.system, e.code,
               e.event_date AS evidence_date
        FROM registered r JOIN condition_coded e ON e.person_id = r.person_id AND e.condition_id = r.condition_id
        WHERE r.has_medicine AND NOT r.has_diagnosis AND r.rx_with_diagnosis_ever AND r.requires <> 'diagnosis'""",
    )
