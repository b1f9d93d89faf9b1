"""Medicines: the medicine class lookups, issued prescriptions, the medicine route to a condition, counts.

A class is matched by its listed codes or by an ingredient in the prescription's display text. A
condition's medicine rule needs ``min_issues`` distinct issue dates within its window, and none of
its ``without_conditions`` (and, where it says so, a diagnostic code ever).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from careweave.population.features import NOT_ISSUED_STATUSES, FeatureSpecification
from careweave.population.sql.common import Context, Step, code_table, date_literal, string_list


def lookups(spec: FeatureSpecification) -> dict[str, pa.Table]:
    """The classes the condition rules use, by code and by ingredient, and the rules' exclusions."""
    knowledge = spec.knowledge
    conditions = knowledge.conditions
    rule_classes = sorted({(c.id, k) for c in conditions if c.medicine_rule for k in c.medicine_rule.classes})
    used_classes = {k for _, k in rule_classes}
    without = sorted(
        {(c.id, w) for c in conditions if c.medicine_rule for w in c.medicine_rule.without_conditions}
    )
    ingredients = sorted(
        {
            (i.lower(), m.id)
            for m in knowledge.medicine_classes
            if m.id in used_classes
            for i in m.ingredients
            if i
        }
    )
    return {
        "lk_condition_medicine_class": pa.table(
            {
                "condition_id": pa.array([r[0] for r in rule_classes], pa.string()),
                "class_id": pa.array([r[1] for r in rule_classes], pa.string()),
            }
        ),
        "lk_condition_without": pa.table(
            {
                "condition_id": pa.array([w[0] for w in without], pa.string()),
                "without_condition_id": pa.array([w[1] for w in without], pa.string()),
            }
        ),
        "lk_medicine_code": code_table(
            [(code, m.id) for m in knowledge.medicine_classes if m.id in used_classes for code in m.codes],
            "class_id",
        ),
        "lk_medicine_ingredient": pa.table(
            {
                "ingredient": pa.array([i[0] for i in ingredients], pa.string()),
                "class_id": pa.array([i[1] for i in ingredients], pa.string()),
            }
        ),
    }


def issue_steps(ctx: Context) -> list[Step]:
    """Issued prescriptions, their classes, and the people whose issues qualify them for a condition."""
    w = ctx.windows
    rx_windows = [
        w.as_of - dt.timedelta(days=c.medicine_rule.window_days)
        for c in ctx.knowledge.conditions
        if c.medicine_rule
    ]
    earliest_rx = min(rx_windows, default=w.as_of)
    return [
        Step(
            "medication_issued",
            f"""SELECT m.person_id, m.system, m.code, m.display, m.authored_on FROM medication m
        WHERE m.authored_on IS NOT NULL AND m.authored_on <= {ctx.as_of}
          AND (m.status IS NULL OR m.status NOT IN ({string_list(NOT_ISSUED_STATUSES)}))""",
        ),
        # Issues of the medicine classes the rules use: by listed code, or by ingredient in the display
        # text (matched once per distinct display, then joined back by equality).
        Step(
            "medicine_issue",
            f"""WITH recent AS (SELECT * FROM medication_issued WHERE authored_on > {date_literal(earliest_rx)}),
        display_class AS (
          SELECT d.display_lower, i.class_id
          FROM (SELECT DISTINCT LOWER(display) AS display_lower FROM recent WHERE display IS NOT NULL) d
          JOIN lk_medicine_ingredient i ON INSTR(d.display_lower, i.ingredient) > 0)
        SELECT r.person_id, k.class_id, r.system, r.code, r.authored_on
        FROM recent r JOIN lk_medicine_code k ON r.system = k.system AND r.code = k.code
        UNION
        SELECT r.person_id, x.class_id, r.system, r.code, r.authored_on
        FROM recent r JOIN display_class x ON LOWER(r.display) = x.display_lower""",
        ),
        Step(
            "medicine_evidence",
            """SELECT DISTINCT i.person_id, r.condition_id, i.system, i.code, i.authored_on
        FROM medicine_issue i
        JOIN lk_condition_medicine_class r ON i.class_id = r.class_id
        JOIN lk_condition d ON r.condition_id = d.condition_id
        WHERE i.authored_on > d.rx_window_start""",
            materialize=True,
        ),
        # Issues are counted as distinct issue dates.
        Step(
            "medicine_qualified",
            """SELECT q.person_id, q.condition_id
        FROM (SELECT person_id, condition_id, COUNT(DISTINCT authored_on) AS issues
              FROM medicine_evidence GROUP BY person_id, condition_id) q
        JOIN lk_condition d ON q.condition_id = d.condition_id
        LEFT JOIN (SELECT DISTINCT w.condition_id, c.person_id FROM lk_condition_without w
                   JOIN condition_coded c ON c.condition_id = w.without_condition_id) x
          ON x.condition_id = q.condition_id AND x.person_id = q.person_id
        LEFT JOIN (SELECT DISTINCT person_id, condition_id FROM condition_coded) ever
          ON ever.condition_id = q.condition_id AND ever.person_id = q.person_id
        WHERE q.issues >= d.rx_min_issues AND x.person_id IS NULL
          AND (NOT d.rx_with_diagnosis_ever OR ever.person_id IS NOT NULL)""",
        ),
    ]


def recent_count_step(ctx: Context) -> Step:
    """Distinct medicines (by code) issued in the last 3 months (polypharmacy, and an eFI deficit)."""
    return Step(
        "medicines_3m",
        f"""SELECT person_id, COUNT(*) AS medicine_count FROM (
          SELECT DISTINCT person_id, system, code FROM medication_issued WHERE authored_on > {date_literal(ctx.windows.months_3)}) m
        GROUP BY person_id""",
        materialize=True,
    )
