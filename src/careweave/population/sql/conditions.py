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
    exclusions = spec.knowledge.exclusions
    known = {c.id for c in conditions}
    resolved = [
        (code, condition_id)
        for condition_id, codes in sorted(exclusions.resolved_codes.items())
        if condition_id in known
        for code in codes
    ]
    coded_rules = [(code, r.id) for r in exclusions.person_rules if r.kind == "coded" for code in r.codes]
    return {
        "lk_condition": lk_condition,
        "lk_condition_code": code_table(
            [(code, c.id) for c in conditions for code in c.codes], "condition_id"
        ),
        "lk_resolved_code": code_table(resolved, "condition_id"),
        "lk_person_rule_code": code_table(coded_rules, "rule_id"),
    }


def _not_in(column: str, values: tuple[str, ...]) -> str:
    """``column`` is null or none of ``values`` (a null status is "not recorded", never excluded)."""
    return f"({column} IS NULL OR {column} NOT IN ({string_list(values)}))" if values else "TRUE"


def recorded_step(ctx: Context) -> Step:
    """Condition rows that any rule may read: dated on or before as_of (or undated), and neither refuted
    nor entered in error (exclusions.yaml, verification_status.ignored_everywhere)."""
    ignored = ctx.knowledge.exclusions.ignored_everywhere
    return Step(
        "condition_recorded",
        f"""SELECT c.person_id, c.system, c.code, c.onset_date, c.recorded_date, c.clinical_status,
               c.verification_status
        FROM condition c
        WHERE {_not_in("c.verification_status", ignored)}
          AND ({CONDITION_DATE} IS NULL OR {CONDITION_DATE} <= {ctx.as_of})""",
        materialize=True,
    )


def person_rule_steps(ctx: Context) -> list[Step]:
    """The coded person rules (palliative care register, care home) and, per person, every rule's verdict.

    A coded rule holds when one of its codes is recorded on or before as_of, as a current condition
    (a missing clinical status is current, as everywhere) or as an observation. ``excluded`` and
    ``worklist_excluded`` name the first rule, in exclusions.yaml's order, that sets the person aside.
    """
    rules = ctx.knowledge.exclusions.person_rules
    coded = [r for r in rules if r.kind == "coded"]
    hits = ",\n".join(f"{flag(f'h.rule_id = {string_list([r.id])}')} AS {r.id}" for r in coded)
    verdicts: dict[str, str] = {}
    for rule in rules:
        if rule.kind == "deceased":
            continue  # dead on as_of: not among the people at all
        verdicts[rule.id] = (
            "(p.practice_id IS NULL OR p.practice_id <= 0)"
            if rule.kind == "no_registered_practice"
            else f"COALESCE(f.{rule.id}, 0) = 1"
        )

    def first(effect_of: str) -> str:
        cases = [
            f"WHEN {verdicts[r.id]} THEN {string_list([r.id])}"
            for r in rules
            if r.id in verdicts and getattr(r, effect_of) == "exclude"
        ]
        return f"CASE {' '.join(cases)} ELSE NULL END" if cases else "CAST(NULL AS STRING)"

    flags_sql = f"""SELECT h.person_id{"," if hits else ""}
          {hits}
        FROM (
          SELECT c.person_id, k.rule_id FROM condition_recorded c
          JOIN lk_person_rule_code k ON c.system = k.system AND c.code = k.code
          WHERE c.clinical_status IS NULL OR c.clinical_status IN ({ACTIVE_STATUSES})
          UNION ALL
          SELECT o.person_id, k.rule_id FROM observation o
          JOIN lk_person_rule_code k ON o.system = k.system AND o.code = k.code
          WHERE o.effective IS NULL OR CAST(o.effective AS DATE) <= {ctx.as_of}) h
        GROUP BY h.person_id"""
    columns = ",\n          ".join(f"{verdict} AS {rule_id}" for rule_id, verdict in verdicts.items())
    return [
        Step("person_rule_hits", flags_sql),
        Step(
            "person_status",
            f"""SELECT p.person_id,
          {columns},
          {first("register")} AS excluded,
          {first("worklists")} AS worklist_excluded
        FROM people p LEFT JOIN person_rule_hits f ON f.person_id = p.person_id""",
            materialize=True,
        ),
    ]


def coded_steps(ctx: Context) -> list[Step]:
    """Diagnostic codes of library conditions that count, and those within each condition's window.

    A code counts (exclusions.yaml) when its clinical status is active, or missing (treated as active
    here as everywhere); when its verification status does not set it aside for the register
    (provisional, differential); and when no resolved code for its condition is recorded on or after
    it (QOF: the latest resolved code on or after the latest diagnosis code ends the condition, and a
    diagnosis code after it opens it again). Undated resolved codes end nothing: they cannot be ordered.
    """
    register_ignored = ctx.knowledge.exclusions.ignored_for_register
    return [
        Step(
            "condition_resolved",
            f"""SELECT r.person_id, k.condition_id, MAX(r.event_date) AS resolved_date FROM (
          SELECT c.person_id, c.system, c.code, {CONDITION_DATE} AS event_date FROM condition_recorded c
          UNION ALL
          SELECT o.person_id, o.system, o.code, CAST(o.effective AS DATE) AS event_date FROM observation o
          WHERE CAST(o.effective AS DATE) <= {ctx.as_of}) r
        JOIN lk_resolved_code k ON r.system = k.system AND r.code = k.code
        WHERE r.event_date IS NOT NULL
        GROUP BY r.person_id, k.condition_id""",
        ),
        Step(
            "condition_coded",
            f"""SELECT c.person_id, k.condition_id, c.system, c.code, {CONDITION_DATE} AS event_date
        FROM condition_recorded c JOIN lk_condition_code k ON c.system = k.system AND c.code = k.code
        LEFT JOIN condition_resolved r ON r.person_id = c.person_id AND r.condition_id = k.condition_id
        WHERE (c.clinical_status IS NULL OR c.clinical_status IN ({ACTIVE_STATUSES}))
          AND {_not_in("c.verification_status", register_ignored)}
          AND (r.resolved_date IS NULL OR {CONDITION_DATE} > r.resolved_date)""",
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


def register_steps() -> list[Step]:
    """Every code and date that gave a person a library condition (``condition_evidence``), and the
    MLTC register: that evidence for people with 2+ conditions whom no person rule set aside."""
    return [
        _evidence_step(),
        Step(
            "register",
            """SELECT e.* FROM condition_evidence e
        JOIN condition_summary cs ON cs.person_id = e.person_id AND cs.condition_count >= 2
        JOIN person_status ps ON ps.person_id = e.person_id AND ps.excluded IS NULL""",
        ),
    ]


def _evidence_step() -> Step:
    return Step(
        "condition_evidence",
        """WITH registered AS (
          SELECT pc.person_id, pc.condition_id, d.condition_name, d.requires, d.rx_with_diagnosis_ever,
                 pc.has_diagnosis, pc.has_medicine
          FROM person_condition pc
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
        materialize=True,
    )
