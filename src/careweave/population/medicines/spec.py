"""The medicines review as portable SQL steps (DuckDB and Spark SQL run them unchanged).

Every window is resolved here to day numbers (calendar months back from the reference date, both
ends included), so the SQL only compares integers. The steps:

- ``med_issued``: prescriptions issued on or before the reference date (not cancelled, in error or
  draft); ``display_group`` / ``display_ingredient``: each distinct display text matched once to the
  groups and ingredients it names; ``issue_group``: each issue with its groups;
- ``current_medicine``: what a pharmacist calls current (issued in the current window, status not
  stopped), with the first issue of the course and whether it is a repeat;
- ``fact_evidence``: one row per person and fact that holds (with the prescriptions behind it);
- ``person_facts``: a row per person with the facts as 0/1 columns, age, medicine_count, acb_total;
- ``rule_hit`` and the output: one row per finding and implicated medicine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from careweave.population.features import months_before
from careweave.population.sql.common import Step, string_list
from careweave.terminology.loading.medicines_rules import (
    Expression,
    Fact,
    MedicinesRules,
    load_medicines_rules,
)

from .inputs import day_number

OUTPUT: pa.Schema = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("rule_id", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("acb_total", pa.int64()),
        pa.field("system", pa.string()),
        pa.field("code", pa.string()),
        pa.field("display", pa.string()),
        pa.field("since_day", pa.int32()),
    ]
)

CURRENT: pa.Schema = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("system", pa.string()),
        pa.field("code", pa.string()),
        pa.field("display", pa.string()),
        pa.field("since_day", pa.int32()),
        pa.field("last_day", pa.int32()),
        pa.field("issues", pa.int64()),
        pa.field("is_repeat", pa.bool_()),
    ]
)


def _column(fact_id: str) -> str:
    return f"f_{fact_id}"


def expression_sql(expression: Expression) -> str:
    """A parsed ``when`` as a SQL predicate over ``person_facts``."""
    kind = expression[0]
    if kind == "fact":
        return f"({_column(expression[1])} = 1)"
    if kind == "cmp":
        _, name, op, value = expression
        return f"({name} {op} {value:g})"
    if kind == "not":
        return f"(NOT {expression_sql(expression[1])})"
    joiner = " AND " if kind == "and" else " OR "
    return "(" + joiner.join(expression_sql(item) for item in expression[1]) + ")"


@dataclass(frozen=True)
class MedicinesReview:
    """The review on one reference date; ``person_id`` limits it to one person."""

    as_of: dt.date
    rules: MedicinesRules
    person_id: int | None = None

    @classmethod
    def of(
        cls, as_of: dt.date, *, person_id: int | None = None, rules: MedicinesRules | None = None
    ) -> MedicinesReview:
        return cls(as_of, rules or load_medicines_rules(), person_id)

    # -- windows -------------------------------------------------------------------------------------

    def day(self, months: int) -> int:
        """The day number ``months`` calendar months before the reference date."""
        return int(day_number(months_before(self.as_of, months)) or 0)

    def window(self, start_months: int | None, end_months: int) -> str:
        """``day`` within the window, both ends included."""
        upper = f"day <= {self.day(end_months)}"
        return upper if start_months is None else f"day >= {self.day(start_months)} AND {upper}"

    # -- lookups -------------------------------------------------------------------------------------

    def lookups(self) -> dict[str, pa.Table]:
        rules = self.rules
        ingredients = sorted({i for g in rules.groups for i in g.ingredients} | set(rules.acb_scores))
        group_ingredient = sorted({(g.id, i) for g in rules.groups for i in g.ingredients})
        group_excluded = sorted({(g.id, x.lower()) for g in rules.groups for x in g.exclude_display})
        group_code = sorted({(g.id, s, c) for g in rules.groups for s, c in g.codes})
        fact_code = sorted({(f.id, s, c) for f in rules.facts for s, c in f.codes})
        unless_code = sorted({(f.id, s, c) for f in rules.facts for s, c in f.unless_codes})
        implicated = sorted({(r.id, i) for r in rules.rules for i in r.implicated})
        dup_groups = [g for g in rules.groups if g.duplication]
        return {
            "lk_ingredient": pa.table({"ingredient": pa.array(ingredients, pa.string())}),
            "lk_group_ingredient": _rows(("group_id", "ingredient"), group_ingredient),
            "lk_group_excluded": _rows(("group_id", "text"), group_excluded),
            "lk_group_code": _rows(("group_id", "system", "code"), group_code),
            "lk_fact_code": _rows(("fact_id", "system", "code"), fact_code),
            "lk_unless_code": _rows(("fact_id", "system", "code"), unless_code),
            "lk_acb": pa.table(
                {
                    "ingredient": pa.array(sorted(rules.acb_scores), pa.string()),
                    "score": pa.array([rules.acb_scores[k] for k in sorted(rules.acb_scores)], pa.int64()),
                }
            ),
            "lk_implicated": _rows(("rule_id", "fact_id"), implicated),
            "lk_duplication_group": _rows(("group_id", "name"), sorted((g.id, g.name) for g in dup_groups)),
        }

    # -- steps ---------------------------------------------------------------------------------------

    def _person_filter(self, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return "" if self.person_id is None else f" AND {prefix}person_id = {int(self.person_id)}"

    def base_steps(self) -> list[Step]:
        rules = self.rules
        as_of = self.day(0)
        current_from = self.day(rules.current_months)
        gap = rules.current_months * 31
        return [
            Step(
                "med_issued",
                f"""SELECT person_id, system, code, display, LOWER(display) AS display_lower, day, status, course,
                  CASE WHEN status IS NULL OR status NOT IN ({string_list(rules.not_current)}) THEN 1 ELSE 0 END AS current_ok
                FROM medication
                WHERE day IS NOT NULL AND day <= {as_of} AND code IS NOT NULL
                  AND (status IS NULL OR status NOT IN ({string_list(rules.not_issued)})){self._person_filter()}""",
                materialize=True,
            ),
            # Each distinct display once against the ingredient names; a name inside a longer name that
            # also matched (codeine in dihydrocodeine) is not a second ingredient.
            Step(
                "display_ingredient_raw",
                """SELECT d.display_lower, i.ingredient
                FROM (SELECT DISTINCT display_lower FROM med_issued WHERE display_lower IS NOT NULL) d
                JOIN lk_ingredient i ON INSTR(d.display_lower, i.ingredient) > 0""",
                materialize=True,
            ),
            Step(
                "display_ingredient",
                """SELECT r.display_lower, r.ingredient FROM display_ingredient_raw r
                LEFT JOIN (SELECT DISTINCT a.display_lower, a.ingredient FROM display_ingredient_raw a
                           JOIN display_ingredient_raw w ON a.display_lower = w.display_lower
                             AND w.ingredient <> a.ingredient AND INSTR(w.ingredient, a.ingredient) > 0) s
                  ON s.display_lower = r.display_lower AND s.ingredient = r.ingredient
                WHERE s.ingredient IS NULL""",
                materialize=True,
            ),
            Step(
                "display_group",
                """SELECT DISTINCT d.display_lower, g.group_id, g.ingredient
                FROM display_ingredient d JOIN lk_group_ingredient g ON d.ingredient = g.ingredient
                LEFT JOIN (SELECT DISTINCT d2.display_lower, x.group_id FROM display_ingredient d2
                           JOIN lk_group_excluded x ON INSTR(d2.display_lower, x.text) > 0) ex
                  ON ex.display_lower = d.display_lower AND ex.group_id = g.group_id
                WHERE ex.group_id IS NULL""",
                materialize=True,
            ),
            Step(
                "issue_group",
                """SELECT m.person_id, k.group_id, m.system, m.code, m.display, m.day, m.current_ok
                FROM med_issued m JOIN lk_group_code k ON m.system = k.system AND m.code = k.code
                UNION
                SELECT m.person_id, d.group_id, m.system, m.code, m.display, m.day, m.current_ok
                FROM med_issued m JOIN display_group d ON m.display_lower = d.display_lower""",
                materialize=True,
            ),
            # Courses: an issue more than `gap` days after the previous issue of the same code starts one.
            Step(
                "course_issue",
                f"""SELECT person_id, system, code, day, course,
                  CASE WHEN prev_day IS NULL OR day - prev_day > {gap} THEN 1 ELSE 0 END AS starts_course
                FROM (SELECT person_id, system, code, day, course,
                        LAG(day) OVER (PARTITION BY person_id, system, code ORDER BY day) AS prev_day
                      FROM med_issued WHERE current_ok = 1) t""",
            ),
            Step(
                "current_medicine",
                f"""SELECT c.person_id, c.system, c.code, c.display, s.since_day, c.last_day, c.issues,
                  CASE WHEN c.repeat_course = 1 OR s.since_day < c.last_day THEN TRUE ELSE FALSE END AS is_repeat
                FROM (SELECT person_id, system, code, MAX(display) AS display, MAX(day) AS last_day, COUNT(*) AS issues,
                        MAX(CASE WHEN course IN ({string_list(rules.repeat_courses)}) THEN 1 ELSE 0 END) AS repeat_course
                      FROM med_issued WHERE current_ok = 1 AND day >= {current_from}
                      GROUP BY person_id, system, code) c
                JOIN (SELECT person_id, system, code, MAX(CASE WHEN starts_course = 1 THEN day END) AS since_day
                      FROM course_issue GROUP BY person_id, system, code) s
                  ON s.person_id = c.person_id AND s.system = c.system AND s.code = c.code""",
                materialize=True,
            ),
            Step(
                "current_ingredient",
                """SELECT DISTINCT c.person_id, c.system, c.code, c.display, d.ingredient
                FROM current_medicine c JOIN display_ingredient d ON LOWER(c.display) = d.display_lower""",
                materialize=True,
            ),
        ]

    def _fact_sql(self, fact: Fact) -> str:
        fid = f"'{fact.id}'"
        window = self.window(fact.start_months, fact.end_months)
        if fact.kind == "medicine":
            status = "" if fact.history else " AND current_ok = 1"
            return f"""SELECT person_id, {fid} AS fact_id, system, code, display FROM issue_group
                WHERE group_id = '{fact.subject}' AND {window}{status}"""
        if fact.kind == "coprescribed":
            a_window = window.replace("day", "a.day")
            b_window = window.replace("day", "b.day")
            pairs = f"""FROM issue_group a JOIN issue_group b ON a.person_id = b.person_id
                WHERE a.group_id = '{fact.subject}' AND b.group_id = '{fact.other}' AND a.current_ok = 1
                  AND b.current_ok = 1 AND {a_window} AND {b_window} AND ABS(a.day - b.day) < {fact.within_days}"""
            return (
                f"SELECT a.person_id, {fid} AS fact_id, a.system, a.code, a.display {pairs} UNION "
                f"SELECT a.person_id, {fid} AS fact_id, b.system, b.code, b.display {pairs}"
            )
        if fact.kind == "latest_value":
            return f"""SELECT l.person_id, {fid} AS fact_id, NULL AS system, NULL AS code, NULL AS display
                FROM (SELECT person_id, MAX(day) AS day FROM event_fact WHERE fact_id = {fid} AND {window} GROUP BY person_id) l
                JOIN (SELECT person_id, day, MIN(value) AS value FROM event_fact WHERE fact_id = {fid}
                      GROUP BY person_id, day) v ON v.person_id = l.person_id AND v.day = l.day
                WHERE v.value >= {fact.low:g} AND v.value < {fact.below:g}"""
        latest = f"SELECT person_id, MAX(day) AS day FROM event_fact WHERE fact_id = {fid} AND {window} GROUP BY person_id"
        if not fact.unless_codes:
            return f"SELECT person_id, {fid} AS fact_id, NULL AS system, NULL AS code, NULL AS display FROM ({latest}) e"
        unless_window = self.window(None, fact.unless_end_months)
        return f"""SELECT e.person_id, {fid} AS fact_id, NULL AS system, NULL AS code, NULL AS display
            FROM ({latest}) e
            LEFT JOIN (SELECT person_id, MAX(day) AS day FROM event_unless WHERE fact_id = {fid} AND {unless_window}
                       GROUP BY person_id) u ON u.person_id = e.person_id
            WHERE u.person_id IS NULL OR u.day < e.day"""

    def fact_steps(self) -> list[Step]:
        as_of = self.day(0)
        facts = self.rules.facts
        numbers = ", ".join(
            f"MAX(CASE WHEN fact_id = '{f.id}' THEN 1 ELSE 0 END) AS {_column(f.id)}" for f in facts
        )
        zeros = ", ".join(f"COALESCE(p.{_column(f.id)}, 0) AS {_column(f.id)}" for f in facts)
        age = f"CAST(FLOOR(({int(self.as_of.strftime('%Y%m%d'))} - pe.birth_ymd) / 10000.0) AS INT)"
        return [
            Step(
                "event_fact",
                f"""SELECT e.person_id, k.fact_id, e.day, e.value FROM event e
                JOIN lk_fact_code k ON e.system = k.system AND e.code = k.code
                WHERE e.day IS NOT NULL AND e.day <= {as_of}{self._person_filter("e")}""",
                materialize=True,
            ),
            Step(
                "event_unless",
                f"""SELECT e.person_id, k.fact_id, e.day FROM event e
                JOIN lk_unless_code k ON e.system = k.system AND e.code = k.code
                WHERE e.day IS NOT NULL AND e.day <= {as_of}{self._person_filter("e")}""",
            ),
            Step("fact_evidence", " UNION ALL ".join(self._fact_sql(f) for f in facts), materialize=True),
            Step(
                "medicine_count",
                """SELECT person_id, COUNT(DISTINCT medicine) AS medicine_count FROM (
                  SELECT c.person_id, COALESCE(i.ingredient, CONCAT(c.system, '|', c.code)) AS medicine
                  FROM current_medicine c LEFT JOIN (SELECT person_id, system, code, MIN(ingredient) AS ingredient
                    FROM current_ingredient GROUP BY person_id, system, code) i
                    ON i.person_id = c.person_id AND i.system = c.system AND i.code = c.code) m
                GROUP BY person_id""",
            ),
            Step(
                "acb_ingredient",
                """SELECT c.person_id, c.system, c.code, c.display, c.ingredient, a.score
                FROM current_ingredient c JOIN lk_acb a ON c.ingredient = a.ingredient""",
                materialize=True,
            ),
            Step(
                "acb_total",
                """SELECT person_id, SUM(score) AS acb_total
                FROM (SELECT DISTINCT person_id, ingredient, score FROM acb_ingredient) a GROUP BY person_id""",
            ),
            Step(
                "person_facts",
                f"""SELECT pe.person_id, {age} AS age,
                  CASE WHEN pe.sex IN ('male', 'female') THEN 1 ELSE 0 END AS f_male_or_female,
                  COALESCE(n.medicine_count, 0) AS medicine_count, COALESCE(a.acb_total, 0) AS acb_total, {zeros}
                FROM person pe
                LEFT JOIN (SELECT person_id, {numbers} FROM fact_evidence GROUP BY person_id) p ON p.person_id = pe.person_id
                LEFT JOIN medicine_count n ON n.person_id = pe.person_id
                LEFT JOIN acb_total a ON a.person_id = pe.person_id
                WHERE (p.person_id IS NOT NULL OR n.person_id IS NOT NULL)
                  AND pe.birth_ymd IS NOT NULL
                  AND (NOT COALESCE(pe.deceased, FALSE) OR (pe.deceased_day IS NOT NULL AND pe.deceased_day > {as_of})){self._person_filter("pe")}""",
                materialize=True,
            ),
        ]

    def rule_steps(self) -> list[Step]:
        rules = self.rules
        hits = [
            f"SELECT person_id, '{r.id}' AS rule_id, acb_total FROM person_facts WHERE {expression_sql(r.when)}"
            for r in rules.rules
            if r.kind == "when" and r.when is not None
        ]
        hits += [
            f"SELECT person_id, '{r.id}' AS rule_id, acb_total FROM person_facts WHERE acb_total >= {rules.acb_threshold}"
            for r in rules.rules
            if r.kind == "acb"
        ]
        steps = [Step("rule_hit", " UNION ALL ".join(hits), materialize=True)]
        dup = next((r for r in rules.rules if r.kind == "duplicate"), None)
        if dup is not None:
            steps.append(
                Step(
                    "current_group",
                    """SELECT DISTINCT c.person_id, d.group_id, d.ingredient, c.system, c.code, c.display
                    FROM current_medicine c JOIN display_group d ON LOWER(c.display) = d.display_lower
                    JOIN lk_duplication_group g ON g.group_id = d.group_id""",
                    materialize=True,
                )
            )
            steps.append(
                Step(
                    "duplicate_row",
                    f"""SELECT a.person_id, '{dup.id}' AS rule_id, CONCAT('same ingredient: ', a.ingredient) AS detail,
                      a.system, a.code, a.display
                    FROM current_ingredient a JOIN current_ingredient b ON a.person_id = b.person_id
                      AND a.ingredient = b.ingredient AND LOWER(a.display) <> LOWER(b.display)
                    UNION
                    SELECT a.person_id, '{dup.id}' AS rule_id, CONCAT('two drugs of one class: ', g.name) AS detail,
                      a.system, a.code, a.display
                    FROM current_group a JOIN current_group b ON a.person_id = b.person_id AND a.group_id = b.group_id
                      AND a.ingredient <> b.ingredient AND (a.system <> b.system OR a.code <> b.code)
                    JOIN lk_duplication_group g ON g.group_id = a.group_id""",
                )
            )
        return steps

    def steps(self) -> list[Step]:
        return [*self.base_steps(), *self.fact_steps(), *self.rule_steps()]

    def output_query(self) -> str:
        since = "c.since_day"
        parts = [
            # rules whose implicated medicines are fact evidence (or none)
            f"""SELECT h.person_id, h.rule_id, CAST(NULL AS STRING) AS detail, CAST(NULL AS BIGINT) AS acb_total,
                  e.system, e.code, e.display, {since} AS since_day
                FROM rule_hit h
                LEFT JOIN (SELECT DISTINCT i.rule_id, f.person_id, f.system, MAX(f.display) AS display, f.code
                           FROM lk_implicated i JOIN fact_evidence f ON f.fact_id = i.fact_id
                           WHERE f.code IS NOT NULL GROUP BY i.rule_id, f.person_id, f.system, f.code) e
                  ON e.rule_id = h.rule_id AND e.person_id = h.person_id
                LEFT JOIN current_medicine c ON c.person_id = h.person_id AND c.system = e.system AND c.code = e.code
                WHERE h.rule_id NOT IN ({self._special_rules()})""",
            # polypharmacy-style rules implicating every current medicine
            """SELECT h.person_id, h.rule_id, CAST(NULL AS STRING) AS detail, CAST(NULL AS BIGINT) AS acb_total,
                  c.system, c.code, c.display, c.since_day
                FROM rule_hit h JOIN lk_implicated i ON i.rule_id = h.rule_id AND i.fact_id = 'current'
                JOIN current_medicine c ON c.person_id = h.person_id""",
            f"""SELECT h.person_id, h.rule_id, CAST(NULL AS STRING) AS detail, h.acb_total,
                  a.system, a.code, MAX(a.display) AS display, MAX(c.since_day) AS since_day
                FROM rule_hit h JOIN acb_ingredient a ON a.person_id = h.person_id
                LEFT JOIN current_medicine c ON c.person_id = a.person_id AND c.system = a.system AND c.code = a.code
                WHERE h.rule_id IN ({self._acb_rules()})
                GROUP BY h.person_id, h.rule_id, h.acb_total, a.system, a.code""",
        ]
        if any(r.kind == "duplicate" for r in self.rules.rules):
            parts.append(
                """SELECT d.person_id, d.rule_id, d.detail, CAST(NULL AS BIGINT) AS acb_total, d.system, d.code,
                  d.display, c.since_day
                FROM duplicate_row d
                LEFT JOIN current_medicine c ON c.person_id = d.person_id AND c.system = d.system AND c.code = d.code"""
            )
        return " UNION ALL ".join(f"SELECT * FROM ({p}) q{i}" for i, p in enumerate(parts))

    def _special_rules(self) -> str:
        ids = [r.id for r in self.rules.rules if r.kind != "when" or "current" in r.implicated]
        return string_list(ids)

    def _acb_rules(self) -> str:
        return string_list([r.id for r in self.rules.rules if r.kind == "acb"])


def _rows(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> pa.Table:
    return pa.table({name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(names)})


def shape(table: pa.Table, schema: pa.Schema = OUTPUT) -> pa.Table:
    """The engine's rows in the stable schema and order."""
    columns = [table.column(f.name).cast(f.type) for f in schema]
    shaped = pa.Table.from_arrays(columns, schema=schema.remove_metadata())
    keys = [
        (name, "ascending")
        for name in ("person_id", "rule_id", "detail", "system", "code")
        if name in schema.names
    ]
    return shaped.sort_by(keys)
