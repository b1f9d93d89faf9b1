"""Unplanned care is emergency admissions and A&E attendances (worklist_rules.yaml ``unplanned_care``:
HES admission method 21-28 as the emergency priority or type, the ECDS A&E attendance); an urgent GP
appointment is urgent primary care, its own feature, never unplanned hospital care.

Every case runs on DuckDB and on Spark (the ``engine`` fixture), so the engines agree by name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from careweave.population.compute import compute_features
from careweave.population.features import EngineName
from careweave.terminology import load_unplanned_care, load_worklist_rules
from tests.population.test_features import AS_OF, KNOWLEDGE, dx, extract, person, visit

INSIDE = dt.datetime.combine(AS_OF - dt.timedelta(days=40), dt.time(10, 0))


def features(engine: EngineName, *encounters: dict[str, Any]) -> dict[str, Any]:
    ex = extract(person=[person(1)], encounter=list(encounters))
    rows = compute_features(ex, AS_OF, knowledge=KNOWLEDGE, engine=engine).to_pylist()
    return rows[0]


def counts(row: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        row["unplanned_admissions_12m"],
        row["ae_attendances_12m"],
        row["unplanned_contacts_12m"],
        row["urgent_primary_care_12m"],
    )


def test_urgent_gp_appointments_are_not_unplanned_hospital_care(engine: EngineName) -> None:
    # As the record imports them: AMB with urgent priority, flagged unplanned by the projection.
    gp = [visit(1, INSIDE, "AMB", True, priority="UR") for _ in range(4)]
    home = visit(1, INSIDE, "HH", True, priority="A")
    row = features(engine, *gp, home)
    assert counts(row) == (0, 0, 0, 5)


def test_emergency_admissions_and_ae_attendances_are_counted(engine: EngineName) -> None:
    row = features(
        engine,
        visit(1, INSIDE, "IMP", True, priority="EM"),  # emergency admission by priority
        visit(1, INSIDE, "ACUTE", True, type_code="183452005"),  # ... by SNOMED type, no priority
        visit(1, INSIDE, "EMER", True, priority="EM"),  # A&E attendance by class
        visit(1, INSIDE, "AMB", True, type_code="4525004"),  # ... by A&E service type, any class
        visit(1, INSIDE, "AMB", True, priority="UR"),  # urgent GP appointment
    )
    assert counts(row) == (2, 2, 4, 1)


def test_an_urgent_or_elective_admission_is_not_an_emergency(engine: EngineName) -> None:
    row = features(
        engine,
        visit(1, INSIDE, "IMP", True, priority="UR"),  # urgent, but admitted from a waiting list
        visit(1, INSIDE, "IMP", False, priority="EL"),
        visit(1, INSIDE, "IMP", False),
    )
    assert counts(row) == (0, 0, 0, 0)


def test_without_priority_or_type_the_unplanned_flag_stands_in(engine: EngineName) -> None:
    # Older extracts carry neither column: the record's flag on an inpatient stay is the evidence.
    row = features(
        engine,
        visit(1, INSIDE, "IMP", True),
        visit(1, INSIDE, "EMER", False),
        visit(1, INSIDE, "AMB", True),
        visit(1, None, "EMER", True),  # undated: in no window
    )
    assert counts(row) == (1, 1, 2, 1)


def test_one_encounter_is_one_kind_only(engine: EngineName) -> None:
    # An emergency admission also typed as an emergency room admission counts once, as the admission.
    row = features(engine, visit(1, INSIDE, "IMP", True, priority="EM", type_code="50849002"))
    assert counts(row) == (1, 0, 1, 0)


def test_care_coordination_ignores_urgent_gp_appointments(engine: EngineName) -> None:
    from careweave.population.worklists import compute_worklists

    # An adult on the MLTC register with six urgent GP appointments and no hospital care.
    ex = extract(
        person=[person(1), person(2)],
        condition=[dx(p, code, dt.date(2015, 1, 1)) for p in (1, 2) for code in ("38341003", "44054006")],
        encounter=[visit(1, INSIDE, "AMB", True, priority="UR") for _ in range(6)]
        + [visit(2, INSIDE, "EMER", True, priority="EM") for _ in range(2)]
        + [visit(2, INSIDE, "IMP", True, priority="EM")],
    )
    computed = compute_features(ex, AS_OF, knowledge=KNOWLEDGE, engine=engine)
    rules = [r for r in load_worklist_rules() if r.id == "care_coordination"]
    listed = {row["person_id"]: row for row in compute_worklists(computed, rules).to_pylist()}
    assert set(listed) == {2}
    assert listed[2]["reasons"] == [
        "3 emergency admissions or A&E attendances in the last 12 months "
        "(emergency admissions: 1; A&E attendances: 2)"
    ]


def test_the_definition_is_cited_and_keeps_urgent_care_apart() -> None:
    care = load_unplanned_care()
    assert "EM" in care.emergency_admission.priorities and "UR" not in care.emergency_admission.priorities
    assert "EMER" in care.ae_attendance.classes
    assert "UR" in care.urgent_primary_care.priorities and "AMB" in care.urgent_primary_care.classes
    assert any("ADMIMETH" in s and "21-28" in s for s in care.emergency_admission.sources)
    assert any("Emergency Care Data Set" in s for s in care.ae_attendance.sources)
