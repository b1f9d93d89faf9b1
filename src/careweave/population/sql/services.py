"""Use of services: unplanned admissions, A&E attendances, continuity (organisations and clinicians
seen) in the last 12 months, and discharge from hospital in the last 30 days."""

from __future__ import annotations

from careweave.population.features import EMERGENCY_CLASS, INPATIENT_CLASSES
from careweave.population.sql.common import Context, Step, date_literal, string_list


def steps(ctx: Context) -> list[Step]:
    w = ctx.windows
    as_of = ctx.as_of
    start = ctx.dialect.quote("start")
    end = ctx.dialect.quote("end")
    inpatient = string_list(INPATIENT_CLASSES)
    return [
        Step(
            "encounters_12m",
            f"""SELECT person_id,
          SUM(CASE WHEN class_code IN ({inpatient}) AND unplanned THEN 1 ELSE 0 END) AS unplanned_admissions,
          SUM(CASE WHEN class_code = '{EMERGENCY_CLASS}' THEN 1 ELSE 0 END) AS ae_attendances,
          SUM(CASE WHEN unplanned OR class_code = '{EMERGENCY_CLASS}' THEN 1 ELSE 0 END) AS unplanned_contacts,
          COUNT(DISTINCT organisation_id) AS organisations,
          COUNT(DISTINCT practitioner_id) AS clinicians
        FROM encounter
        WHERE {start} IS NOT NULL AND CAST({start} AS DATE) > {date_literal(w.months_12)}
          AND CAST({start} AS DATE) <= {as_of}
        GROUP BY person_id""",
        ),
        Step(
            "discharged",
            f"""SELECT DISTINCT person_id FROM encounter
        WHERE class_code IN ({inpatient}) AND {end} IS NOT NULL
          AND CAST({end} AS DATE) > {date_literal(w.days_30)} AND CAST({end} AS DATE) <= {as_of}""",
        ),
    ]
