"""Assembly: the topic builders' lookups and steps in dependency order, the people and the features.

:func:`compile_steps` is the one call an engine makes. It returns the lookup tables (the knowledge as
Arrow rows) and the named SQL steps; each step reads only the extract, the lookups and earlier steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa

from careweave.population.features import AGE_BANDS, REGISTER_SCHEMA, FeatureSpecification
from careweave.population.sql import conditions, medicines, monitoring, scores, services, social
from careweave.population.sql.common import Context, Dialect, Step
from careweave.population.sql.output import OUTPUT_ORDER
from careweave.terminology.exclusions import PERSON_RULE_IDS


@dataclass(frozen=True)
class CompiledSpecification:
    lookups: dict[str, pa.Table]
    steps: tuple[Step, ...]
    feature_schema: pa.Schema
    register_schema: pa.Schema = field(default=REGISTER_SCHEMA)
    #: How each output is ordered (the engines sort; ties are fully broken so the order is exact).
    order_by: dict[str, str] = field(default_factory=lambda: dict(OUTPUT_ORDER))


def build_lookups(spec: FeatureSpecification) -> dict[str, pa.Table]:
    """The knowledge as Arrow lookup tables, with windows resolved against ``spec.as_of``."""
    return {
        **conditions.lookups(spec),
        **medicines.lookups(spec),
        **scores.lookups(spec),
        **social.lookups(spec),
        **monitoring.lookups(spec),
    }


def _people_step(ctx: Context) -> Step:
    """People alive on as_of (deceased without a date counts as dead on it), born on or before it, with
    their age on as_of: the ``deceased`` person rule (exclusions.yaml) excludes the dead from everything."""
    as_of = ctx.windows.as_of
    age = (
        f"({as_of.year} - YEAR(p.birth_date) - CASE WHEN MONTH(p.birth_date) > {as_of.month} OR "
        f"(MONTH(p.birth_date) = {as_of.month} AND DAY(p.birth_date) > {as_of.day}) THEN 1 ELSE 0 END)"
    )
    return Step(
        "people",
        f"""SELECT p.person_id, p.practice_id, p.sex, p.imd_decile, p.national_opt_out, {age} AS age
        FROM person p
        WHERE NOT (p.deceased AND (p.deceased_date IS NULL OR p.deceased_date <= {ctx.as_of}))
          AND p.birth_date <= {ctx.as_of}""",
        materialize=True,
    )


def _case_mix_columns(ctx: Context) -> list[str]:
    """The MLTC, frailty and condition columns (``p`` people, ``ps`` person_status, ``cs``
    condition_summary, ``efi``), written once for the ``features`` and ``slot_inputs`` steps."""
    quote = ctx.dialect.quote
    efi = scores.efi_columns(ctx)
    count = "COALESCE(cs.condition_count, 0)"
    # On the register: 2+ conditions and no person rule set the person aside (exclusions.yaml).
    registrable = "ps.excluded IS NULL"
    both = "(COALESCE(cs.has_physical, 0) = 1 AND COALESCE(cs.has_mental, 0) = 1)"
    return [
        f"{count} AS condition_count",
        f"({count} >= 2 AND {registrable}) AS mltc",
        f"({registrable} AND ({count} >= 4 OR {both})) AS complex_mltc",
        f"{both} AS physical_and_mental",
        f"{efi.deficits} AS efi_deficits",
        f"{efi.score} AS efi_score",
        f"{efi.category} AS efi_category",
        f"{efi.frail} AS frailty_moderate_or_severe",
        *(f"COALESCE(cs.{quote(col)}, 0) = 1 AS {quote(col)}" for col in ctx.spec.condition_columns),
    ]


_CASE_MIX_JOINS: Final = """FROM people p
        JOIN person_status ps ON ps.person_id = p.person_id
        LEFT JOIN condition_summary cs ON cs.person_id = p.person_id
        LEFT JOIN efi ON efi.person_id = p.person_id"""


def _features_step(ctx: Context) -> Step:
    """One row per person: every topic's summary left-joined to the people, in the stable schema."""
    quote = ctx.dialect.quote
    age_band = (
        "CASE "
        + " ".join(f"WHEN p.age >= {low} THEN '{label}'" for label, low in reversed(AGE_BANDS))
        + " END"
    )
    person_rules = "".join(f"ps.{rule_id}, " for rule_id in PERSON_RULE_IDS[1:])
    medicines_3m = "COALESCE(rx.medicine_count, 0)"
    social_columns = "".join(
        f",\n          COALESCE(ss.{quote(col)}, 0) = 1 AS {quote(col)}" for col in ctx.spec.social_columns
    )
    case_mix = ",\n          ".join(_case_mix_columns(ctx))
    return Step(
        "features",
        f"""SELECT p.person_id, p.practice_id, p.age, {age_band} AS age_band, p.sex, p.imd_decile,
          CASE WHEN p.imd_decile IS NULL THEN NULL WHEN p.imd_decile <= 2 THEN 1 WHEN p.imd_decile <= 4 THEN 2
               WHEN p.imd_decile <= 6 THEN 3 WHEN p.imd_decile <= 8 THEN 4 ELSE 5 END AS imd_quintile,
          p.national_opt_out,
          {person_rules}ps.excluded, ps.worklist_excluded,
          {case_mix},
          CAST(COALESCE(cms.cms_units, 0) AS DOUBLE) / CAST(10000 AS DOUBLE) AS cms_score,
          falls.person_id IS NOT NULL AS falls,
          {medicines_3m} AS medicine_count_3m,
          ({medicines_3m} >= 5 AND {medicines_3m} <= 9) AS polypharmacy_5_9,
          {medicines_3m} >= 10 AS polypharmacy_10_plus,
          COALESCE(enc.unplanned_admissions, 0) AS unplanned_admissions_12m,
          COALESCE(enc.ae_attendances, 0) AS ae_attendances_12m,
          COALESCE(enc.unplanned_contacts, 0) AS unplanned_contacts_12m,
          COALESCE(enc.urgent_primary_care, 0) AS urgent_primary_care_12m,
          COALESCE(enc.organisations, 0) AS organisations_12m,
          COALESCE(enc.clinicians, 0) AS clinicians_12m,
          dis.person_id IS NOT NULL AS discharged_30d,
          COALESCE(mon.overdue, 0) AS overdue_monitoring_count,
          mon.detail AS overdue_monitoring_detail,
          COALESCE(ss.social_need_count, 0) AS social_need_count{social_columns}
        {_CASE_MIX_JOINS}
        LEFT JOIN cms ON cms.person_id = p.person_id
        LEFT JOIN falls_12m falls ON falls.person_id = p.person_id
        LEFT JOIN medicines_3m rx ON rx.person_id = p.person_id
        LEFT JOIN encounters_12m enc ON enc.person_id = p.person_id
        LEFT JOIN discharged dis ON dis.person_id = p.person_id
        LEFT JOIN monitoring mon ON mon.person_id = p.person_id
        LEFT JOIN social_summary ss ON ss.person_id = p.person_id""",
    )


def _slot_inputs_step(ctx: Context) -> Step:
    """The ``slot_inputs`` output: the features' MLTC, frailty and condition columns alone, from the
    same expressions, so a reader of those few columns needs no use of services or monitoring pass."""
    case_mix = ",\n          ".join(_case_mix_columns(ctx))
    return Step(
        "slot_inputs",
        f"""SELECT p.person_id,
          {case_mix}
        {_CASE_MIX_JOINS}""",
    )


def compile_steps(spec: FeatureSpecification, dialect: Dialect) -> CompiledSpecification:
    """The specification as lookup tables plus SQL steps that DuckDB and Spark SQL both run."""
    ctx = Context.of(spec, dialect)
    steps = [
        _people_step(ctx),
        conditions.recorded_step(ctx),
        *conditions.person_rule_steps(ctx),
        *conditions.coded_steps(ctx),
        *medicines.issue_steps(ctx),
        *conditions.summary_steps(ctx),
        scores.cms_step(),
        medicines.recent_count_step(ctx),
        scores.efi_step(ctx),
        *services.steps(ctx),
        scores.falls_step(ctx),
        social.summary_step(ctx),
        *monitoring.steps(ctx),
        _features_step(ctx),
        _slot_inputs_step(ctx),
        *conditions.register_steps(),
    ]
    return CompiledSpecification(
        lookups=build_lookups(spec), steps=tuple(steps), feature_schema=spec.feature_schema()
    )
