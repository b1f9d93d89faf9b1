"""Scores: the Cambridge Multimorbidity Score, the electronic Frailty Index and falls.

The CMS sums each CMS item's weight once (exactly, in units of 1e-4). The eFI counts deficits ever
recorded, whatever the clinical status, and maps the count to a category. Falls are coded events in
the last 12 months.
"""

from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa

from careweave.population.features import FRAILTY_RESPONSE_CATEGORIES, FeatureSpecification
from careweave.population.sql.common import (
    CONDITION_DATE,
    Context,
    Step,
    code_table,
    date_literal,
    string_list,
)


def lookups(spec: FeatureSpecification) -> dict[str, pa.Table]:
    """The eFI deficit codes and the falls codes."""
    knowledge = spec.knowledge
    return {
        "lk_efi_code": code_table(
            [(code, d.id) for d in knowledge.frailty.deficits for code in d.codes], "deficit_id"
        ),
        "lk_falls_code": code_table([(code, "falls") for code in knowledge.falls_codes], "kind"),
    }


def cms_step() -> Step:
    """Cambridge Multimorbidity Score: each CMS item once, summed exactly in units of 1e-4."""
    return Step(
        "cms",
        """SELECT person_id, SUM(units) AS cms_units FROM (
          SELECT pc.person_id, d.cms_component, MAX(d.cms_weight_units) AS units
          FROM person_condition pc JOIN lk_condition d ON pc.condition_id = d.condition_id
          WHERE d.cms_weight_units IS NOT NULL
          GROUP BY pc.person_id, d.cms_component) u
        GROUP BY person_id""",
    )


def efi_step(ctx: Context) -> Step:
    """eFI deficits, counted when ever recorded (on or before as_of), whatever the clinical status, unless
    refuted or entered in error (``condition_recorded``)."""
    knowledge = ctx.knowledge
    polypharmacy_hits = ""
    if knowledge.polypharmacy_deficit:
        # The eFI polypharmacy deficit is not code based: medicine_count_3m >= 5 (frailty_index.yaml).
        polypharmacy_hits = f"""UNION ALL
          SELECT person_id, {string_list([knowledge.polypharmacy_deficit])} AS deficit_id FROM medicines_3m
          WHERE medicine_count >= {knowledge.polypharmacy_min_medicines}"""
    return Step(
        "efi",
        f"""SELECT person_id, COUNT(DISTINCT deficit_id) AS efi_deficits FROM (
          SELECT c.person_id, k.deficit_id FROM condition_recorded c
          JOIN lk_efi_code k ON c.system = k.system AND c.code = k.code
          WHERE {CONDITION_DATE} IS NULL OR {CONDITION_DATE} <= {ctx.as_of}
          UNION ALL
          SELECT o.person_id, k.deficit_id FROM observation o
          JOIN lk_efi_code k ON o.system = k.system AND o.code = k.code
          WHERE o.effective IS NULL OR CAST(o.effective AS DATE) <= {ctx.as_of}
          {polypharmacy_hits}) h
        GROUP BY person_id""",
    )


def falls_step(ctx: Context) -> Step:
    """People with a falls code (as a condition or an observation) in the last 12 months."""
    after = date_literal(ctx.windows.months_12)
    as_of = ctx.as_of
    return Step(
        "falls_12m",
        f"""SELECT DISTINCT person_id FROM (
          SELECT c.person_id FROM condition_recorded c JOIN lk_falls_code k ON c.system = k.system AND c.code = k.code
          WHERE {CONDITION_DATE} > {after} AND {CONDITION_DATE} <= {as_of}
          UNION ALL
          SELECT o.person_id FROM observation o JOIN lk_falls_code k ON o.system = k.system AND o.code = k.code
          WHERE CAST(o.effective AS DATE) > {after} AND CAST(o.effective AS DATE) <= {as_of}) f""",
    )


class EfiColumns(NamedTuple):
    """SQL expressions over the ``efi`` step (joined as ``efi``) for the feature columns."""

    deficits: str
    score: str
    category: str
    frail: str


def efi_columns(ctx: Context) -> EfiColumns:
    """The eFI's deficit count, score, category and "needs a response", one CASE per possible count."""
    frailty = ctx.knowledge.frailty
    n_deficits = len(frailty.deficits)
    category_cases = (
        " ".join(
            f"WHEN {k} THEN {string_list([frailty.category(k / n_deficits)])}" for k in range(n_deficits + 1)
        )
        if n_deficits
        else ""
    )
    response_counts = (
        [
            str(k)
            for k in range(n_deficits + 1)
            if frailty.category(k / n_deficits).lower() in FRAILTY_RESPONSE_CATEGORIES
        ]
        if n_deficits
        else []
    )
    deficits = "COALESCE(efi.efi_deficits, 0)"
    return EfiColumns(
        deficits=deficits,
        score=f"CAST({deficits} AS DOUBLE) / CAST({max(n_deficits, 1)} AS DOUBLE)",
        category=f"CASE {deficits} {category_cases} ELSE 'unknown' END" if category_cases else "'unknown'",
        frail=f"{deficits} IN ({', '.join(response_counts)})" if response_counts else "FALSE",
    )
