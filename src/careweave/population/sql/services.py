"""Use of services: emergency admissions, A&E attendances (together, unplanned hospital care), urgent
primary care apart from them, continuity (organisations and clinicians seen) in the last 12 months,
and discharge from hospital in the last 30 days.

What counts as which is reviewed data (``unplanned_care`` in worklist_rules.yaml, cited to HES
admission method and the ECDS): an emergency admission is an inpatient encounter with an emergency
priority or type; an A&E attendance an emergency encounter or an A&E service type; an urgent GP
appointment is urgent primary care, never unplanned hospital care. One encounter is one kind only.
"""

from __future__ import annotations

from careweave.population.features import INPATIENT_CLASSES
from careweave.population.sql.common import Context, Step, date_literal, string_list
from careweave.terminology.models import EncounterKind


def _is(kind: EncounterKind) -> str:
    """SQL true when an encounter is of ``kind``: by its class (and priority, when the kind names
    priorities), or by its type; with neither priority nor type recorded, the record's unplanned flag
    stands in for the priority."""
    classes = f"class_code IN ({string_list(kind.classes)})"
    if kind.priorities:
        unrecorded = "(priority IS NULL AND type_code IS NULL AND unplanned)"
        classes = f"({classes} AND (priority IN ({string_list(kind.priorities)}) OR {unrecorded}))"
    if kind.types:
        classes = f"{classes} OR type_code IN ({string_list(kind.types)})"
    return f"COALESCE({classes}, FALSE)"


def steps(ctx: Context) -> list[Step]:
    w = ctx.windows
    as_of = ctx.as_of
    start = ctx.dialect.quote("start")
    end = ctx.dialect.quote("end")
    inpatient = string_list(INPATIENT_CLASSES)
    care = ctx.knowledge.unplanned_care
    emergency = _is(care.emergency_admission)
    ae = _is(care.ae_attendance)
    urgent = _is(care.urgent_primary_care)
    return [
        Step(
            "encounter_kinds_12m",
            f"""SELECT person_id, organisation_id, practitioner_id,
          {emergency} AS emergency_admission,
          NOT {emergency} AND {ae} AS ae_attendance,
          NOT {emergency} AND NOT {ae} AND {urgent} AS urgent_primary_care
        FROM encounter
        WHERE {start} IS NOT NULL AND CAST({start} AS DATE) > {date_literal(w.months_12)}
          AND CAST({start} AS DATE) <= {as_of}""",
        ),
        Step(
            "encounters_12m",
            """SELECT person_id,
          SUM(CASE WHEN emergency_admission THEN 1 ELSE 0 END) AS unplanned_admissions,
          SUM(CASE WHEN ae_attendance THEN 1 ELSE 0 END) AS ae_attendances,
          SUM(CASE WHEN emergency_admission OR ae_attendance THEN 1 ELSE 0 END) AS unplanned_contacts,
          SUM(CASE WHEN urgent_primary_care THEN 1 ELSE 0 END) AS urgent_primary_care,
          COUNT(DISTINCT organisation_id) AS organisations,
          COUNT(DISTINCT practitioner_id) AS clinicians
        FROM encounter_kinds_12m
        GROUP BY person_id""",
        ),
        Step(
            "discharged",
            f"""SELECT DISTINCT person_id FROM encounter
        WHERE class_code IN ({inpatient}) AND {end} IS NOT NULL
          AND CAST({end} AS DATE) > {date_literal(w.days_30)} AND CAST({end} AS DATE) <= {as_of}""",
        ),
    ]
