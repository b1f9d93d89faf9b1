"""Features and register on hand-built extracts, with the expected values worked out by hand.

The knowledge here is a small invented library (so the expectations do not move when the reviewed
library changes); ``test_features_library.py`` checks the rules of the real library.

Every hand-worked case runs on every engine (the ``engine`` fixture in ``conftest.py``: DuckDB, and
Spark marked ``spark``), so an engine that disagrees with the hand-worked answer fails here by name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from careweave.population.compute import compute_features, compute_population
from careweave.population.extract_schema import EXTRACT_SCHEMAS, Extract, ExtractSchemaError
from careweave.population.features import REGISTER_SCHEMA, EngineName, FeatureKnowledge, months_before
from careweave.terminology.models import (
    ConditionDefinition,
    FrailtyDeficit,
    FrailtyIndex,
    MedicineClass,
    MedicineRule,
    MonitoringRequirement,
    SocialNeed,
)

SCT = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"
AS_OF = dt.date(2024, 3, 31)


def condition(
    id: str,
    codes: list[str],
    *,
    category: str = "physical",
    window: int | None = None,
    rule: MedicineRule | None = None,
    requires: str = "diagnosis",
    cms: float | None = None,
    cms_component: str | None = None,
) -> ConditionDefinition:
    return ConditionDefinition(
        id=id,
        name=id.replace("_", " ").capitalize(),
        body_system="circulatory",
        category=category,  # type: ignore[arg-type]
        codes=frozenset((SCT, c) for c in codes),
        diagnosis_window_days=window,
        medicine_rule=rule,
        requires=requires,  # type: ignore[arg-type]
        cms_weight=cms,
        in_barnett=True,
        in_ho_always=False,
        sources=("test",),
        cms_component=cms_component,
    )


def knowledge() -> FeatureKnowledge:
    conditions = (
        condition("hypertension", ["38341003"], cms=0.08),
        condition("diabetes", ["44054006", "46635009"], cms=0.75),
        condition("cancer", ["363346000"], window=5 * 365, cms=1.53),
        condition(
            "depression",
            ["35489007"],
            category="mental",
            window=365,
            requires="diagnosis_or_medicine",
            rule=MedicineRule(("antidepressant",), 1, 365, (), with_diagnosis_ever=True),
            cms=0.50,
            cms_component="anxiety_depression",
        ),
        condition("anxiety", ["197480006"], category="mental", window=365, cms=0.50, cms_component="anxiety_depression"),
        condition(
            "dyspepsia",
            [],
            requires="medicine",
            rule=MedicineRule(("ppi",), 4, 365, ()),
        ),
        condition("epilepsy", ["84757009"], requires="diagnosis_and_medicine", rule=MedicineRule(("antiepileptic",), 1, 365, ())),
        condition(
            "pain", [], requires="medicine", rule=MedicineRule(("antiepileptic",), 4, 365, ("epilepsy",))
        ),
    )
    classes = (
        MedicineClass("antidepressant", "Antidepressants", frozenset({(DMD, "AD1")}), ("sertraline",), None, ()),
        MedicineClass("ppi", "Proton pump inhibitors", frozenset({(DMD, "PPI1")}), ("omeprazole", "lansoprazole"), None, ()),
        MedicineClass("antiepileptic", "Antiepileptics", frozenset({(DMD, "AE1")}), ("gabapentin",), None, ()),
    )
    deficits = tuple(FrailtyDeficit(f"d{i}", f"Deficit {i}", frozenset({(SCT, f"90{i:02d}")})) for i in range(36))
    frailty = FrailtyIndex(
        deficits=deficits,
        categories=(("fit", 0.0, 0.12), ("mild", 0.12, 0.24), ("moderate", 0.24, 0.36), ("severe", 0.36, 1.0)),
    )
    social = (
        SocialNeed("lives_alone", "Lives alone", frozenset({(SCT, "105529008")}), ()),
        SocialNeed("is_carer", "Is a carer", frozenset({(SCT, "224484003")}), ()),
        SocialNeed("debt", "Debt", frozenset({(SCT, "4000")}), ()),
    )
    monitoring = (
        MonitoringRequirement("diabetes", frozenset({(SCT, "HBA1C")}), "HbA1c", 365, ()),
        MonitoringRequirement("diabetes", frozenset({(SCT, "UACR")}), "Urine albumin", 365, ()),
        MonitoringRequirement("hypertension", frozenset({(SCT, "BP")}), "Blood pressure", 365, ()),
    )
    return FeatureKnowledge(
        conditions=conditions,
        medicine_classes=classes,
        frailty=frailty,
        social_needs=social,
        monitoring=monitoring,
        falls_codes=frozenset({(SCT, "9005")}),
    )


KNOWLEDGE = knowledge()


def person(person_id: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "person_id": person_id,
        "practice_id": 1,
        "birth_date": dt.date(1950, 6, 1),
        "sex": "female",
        "ethnicity_code": None,
        "imd_decile": 3,
        "lsoa": None,
        "deceased": False,
        "national_opt_out": False,
    }
    row.update(values)
    return row


def table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = EXTRACT_SCHEMAS[name]
    full = [{f.name: row.get(f.name) for f in schema} for row in rows]
    return pa.Table.from_pylist(full, schema=schema)


def extract(**rows: list[dict[str, Any]]) -> Extract:
    return Extract.from_tables(**{name: table(name, value) for name, value in rows.items()})


def dx(person_id: int, code: str, onset: dt.date | None, status: str | None = "active", recorded: dt.date | None = None) -> dict[str, Any]:
    return {"person_id": person_id, "system": SCT, "code": code, "onset_date": onset, "recorded_date": recorded, "clinical_status": status}


def rx(person_id: int, code: str, on: dt.date | None, display: str | None = None, status: str | None = "active") -> dict[str, Any]:
    return {"person_id": person_id, "system": DMD, "code": code, "display": display, "authored_on": on, "status": status}


def visit(person_id: int, start: dt.datetime | None, class_code: str, unplanned: bool = False, **values: Any) -> dict[str, Any]:
    return {"person_id": person_id, "start": start, "class_code": class_code, "unplanned": unplanned, **values}


def obs(person_id: int, code: str, when: dt.datetime | None, value: float | None = None) -> dict[str, Any]:
    return {"person_id": person_id, "system": SCT, "code": code, "effective": when, "value": value}


def features_by_person(ex: Extract, engine: EngineName, as_of: dt.date = AS_OF) -> dict[int, dict[str, Any]]:
    result = compute_features(ex, as_of, engine, knowledge=KNOWLEDGE)
    return {row["person_id"]: row for row in result.to_pylist()}


YEAR_AGO = months_before(AS_OF, 12)  # 2023-03-31: outside every 12-month window


def test_months_before_clamps_to_month_end() -> None:
    assert months_before(dt.date(2024, 3, 31), 12) == dt.date(2023, 3, 31)
    assert months_before(dt.date(2024, 5, 31), 3) == dt.date(2024, 2, 29)
    assert months_before(dt.date(2024, 2, 29), 12) == dt.date(2023, 2, 28)
    assert months_before(dt.date(2024, 1, 15), 1) == dt.date(2023, 12, 15)


def test_conditions_counts_mltc_and_cms(engine: EngineName) -> None:
    ex = extract(
        person=[person(1), person(2), person(3), person(4)],
        condition=[
            dx(1, "38341003", dt.date(2010, 1, 1)),
            dx(1, "44054006", dt.date(2015, 1, 1)),
            dx(1, "46635009", dt.date(2016, 1, 1)),  # a second diabetes code: still one condition
            dx(2, "38341003", None, status=None),  # no date, no status: counts (no window)
            dx(3, "38341003", dt.date(2010, 1, 1), status="resolved"),
            dx(3, "44054006", dt.date(2030, 1, 1)),  # in the future
            dx(4, "38341003", dt.date(2010, 1, 1)),
            dx(4, "44054006", dt.date(2010, 1, 1)),
            dx(4, "363346000", AS_OF - dt.timedelta(days=5 * 365 - 1)),  # cancer within 5 years
            dx(4, "35489007", AS_OF - dt.timedelta(days=30)),  # depression (mental)
            dx(4, "197480006", AS_OF - dt.timedelta(days=30)),  # anxiety: shares the CMS item
        ],
    )
    f = features_by_person(ex, engine)
    assert f[1]["condition_count"] == 2 and f[1]["mltc"] and not f[1]["complex_mltc"]
    assert f[1]["cond_hypertension"] and f[1]["cond_diabetes"] and not f[1]["cond_cancer"]
    assert f[1]["cms_score"] == pytest.approx(0.83, abs=1e-12)
    assert f[2]["condition_count"] == 1 and not f[2]["mltc"]
    assert f[3]["condition_count"] == 0 and f[3]["cms_score"] == 0.0
    assert f[4]["condition_count"] == 5
    assert f[4]["complex_mltc"] and f[4]["physical_and_mental"]
    assert f[4]["cms_score"] == pytest.approx(0.08 + 0.75 + 1.53 + 0.50, abs=1e-12)


def test_physical_and_mental_makes_complex_mltc(engine: EngineName) -> None:
    ex = extract(
        person=[person(1)],
        condition=[dx(1, "38341003", dt.date(2010, 1, 1)), dx(1, "197480006", AS_OF)],
    )
    f = features_by_person(ex, engine)[1]
    assert f["condition_count"] == 2 and f["physical_and_mental"] and f["complex_mltc"]


def test_cancer_only_within_five_years(engine: EngineName) -> None:
    window_start = AS_OF - dt.timedelta(days=5 * 365)
    ex = extract(
        person=[person(1), person(2), person(3)],
        condition=[
            dx(1, "363346000", window_start),  # exactly on the boundary: outside
            dx(2, "363346000", window_start + dt.timedelta(days=1)),
            dx(3, "363346000", None),  # undated: cannot be placed in a window
        ],
    )
    f = features_by_person(ex, engine)
    assert not f[1]["cond_cancer"] and f[2]["cond_cancer"] and not f[3]["cond_cancer"]


def test_treated_dyspepsia_needs_four_issues_in_twelve_months(engine: EngineName) -> None:
    issue_dates = [AS_OF - dt.timedelta(days=d) for d in (10, 100, 200, 300)]
    ex = extract(
        person=[person(1), person(2), person(3), person(4), person(5)],
        medication=[
            *[rx(1, "PPI1", d) for d in issue_dates],
            *[rx(2, "PPI1", d) for d in issue_dates[:3]],
            rx(2, "PPI1", AS_OF - dt.timedelta(days=365)),  # on the window boundary: outside
            *[rx(3, "OTHER", d, display="Omeprazole 20mg gastro-resistant capsules") for d in issue_dates],
            *[rx(4, "PPI1", d) for d in issue_dates[:3]],
            rx(4, "PPI1", issue_dates[0], status="cancelled"),
            rx(4, "PPI1", issue_dates[0]),  # the same date twice: one issue
            *[rx(5, "PPI1", d) for d in issue_dates[:3]],
            rx(5, "PPI2", AS_OF - dt.timedelta(days=364), display="LANSOPRAZOLE 15mg capsules"),
        ],
    )
    f = features_by_person(ex, engine)
    assert f[1]["cond_dyspepsia"]
    assert not f[2]["cond_dyspepsia"]
    assert f[3]["cond_dyspepsia"]  # matched on the ingredient in the display text
    assert not f[4]["cond_dyspepsia"]
    assert f[5]["cond_dyspepsia"]


def test_medicine_rule_without_condition_and_diagnosis_and_medicine(engine: EngineName) -> None:
    issues = [AS_OF - dt.timedelta(days=d) for d in (10, 50, 90, 130)]
    ex = extract(
        person=[person(1), person(2), person(3)],
        condition=[dx(2, "84757009", dt.date(2000, 1, 1)), dx(3, "84757009", dt.date(2000, 1, 1))],
        medication=[*[rx(1, "AE1", d) for d in issues], *[rx(2, "AE1", d) for d in issues]],
    )
    f = features_by_person(ex, engine)
    assert f[1]["cond_pain"] and not f[1]["cond_epilepsy"]
    assert f[2]["cond_epilepsy"] and not f[2]["cond_pain"]  # pain only in the absence of epilepsy
    assert not f[3]["cond_epilepsy"]  # a code without current treatment


def test_depression_by_old_code_plus_treatment(engine: EngineName) -> None:
    ex = extract(
        person=[person(1), person(2), person(3)],
        condition=[dx(1, "35489007", dt.date(2015, 1, 1)), dx(3, "35489007", dt.date(2015, 1, 1))],
        medication=[rx(1, "AD1", AS_OF - dt.timedelta(days=20)), rx(2, "AD1", AS_OF - dt.timedelta(days=20))],
    )
    f = features_by_person(ex, engine)
    assert f[1]["cond_depression"]
    assert not f[2]["cond_depression"]  # treatment without any code
    assert not f[3]["cond_depression"]  # old code, no treatment


def test_efi_score_and_category(engine: EngineName) -> None:
    deficit_codes = [f"90{i:02d}" for i in range(36)]
    ex = extract(
        person=[person(i) for i in range(1, 6)],
        condition=[
            *[dx(2, c, dt.date(2001, 1, 1), status="resolved") for c in deficit_codes[:4]],  # ever recorded
            dx(2, deficit_codes[0], dt.date(2002, 1, 1)),  # the same deficit again
            *[dx(3, c, dt.date(2001, 1, 1)) for c in deficit_codes[:5]],
            *[dx(4, c, dt.date(2001, 1, 1)) for c in deficit_codes[:9]],
            dx(4, deficit_codes[20], dt.date(2030, 1, 1)),  # future: not yet
        ],
        observation=[obs(5, c, dt.datetime(2020, 1, 1)) for c in deficit_codes[:14]],
    )
    f = features_by_person(ex, engine)
    expected = {1: (0, "fit"), 2: (4, "fit"), 3: (5, "mild"), 4: (9, "moderate"), 5: (14, "severe")}
    for person_id, (deficits, category) in expected.items():
        assert f[person_id]["efi_deficits"] == deficits
        assert f[person_id]["efi_score"] == deficits / 36
        assert f[person_id]["efi_category"] == category
        assert f[person_id]["frailty_moderate_or_severe"] == (category in ("moderate", "severe"))


def test_polypharmacy_bands_distinct_medicines_in_three_months(engine: EngineName) -> None:
    three_months_ago = months_before(AS_OF, 3)  # 2023-12-31
    recent = AS_OF - dt.timedelta(days=10)
    ex = extract(
        person=[person(1), person(2), person(3), person(4)],
        medication=[
            *[rx(1, f"M{i}", recent) for i in range(4)],
            rx(1, "M0", recent - dt.timedelta(days=5)),  # repeat of a medicine: still 4
            rx(1, "M9", three_months_ago),  # boundary: outside
            *[rx(2, f"M{i}", recent) for i in range(5)],
            *[rx(3, f"M{i}", three_months_ago + dt.timedelta(days=1)) for i in range(9)],
            rx(3, "M99", recent, status="entered-in-error"),
            *[rx(4, f"M{i}", recent) for i in range(10)],
        ],
    )
    f = features_by_person(ex, engine)
    assert [f[i]["medicine_count_3m"] for i in (1, 2, 3, 4)] == [4, 5, 9, 10]
    assert [f[i]["polypharmacy_5_9"] for i in (1, 2, 3, 4)] == [False, True, True, False]
    assert [f[i]["polypharmacy_10_plus"] for i in (1, 2, 3, 4)] == [False, False, False, True]


def test_encounters_in_twelve_months_at_the_boundary(engine: EngineName) -> None:
    boundary = dt.datetime.combine(YEAR_AGO, dt.time(23, 59))
    inside = dt.datetime.combine(YEAR_AGO + dt.timedelta(days=1), dt.time(0, 0))
    last = dt.datetime.combine(AS_OF, dt.time(23, 59))
    ex = extract(
        person=[person(1)],
        encounter=[
            visit(1, boundary, "IMP", True, organisation_id=1, practitioner_id=1),  # outside
            visit(1, inside, "IMP", True, organisation_id=2, practitioner_id=2),
            visit(1, last, "EMER", True, organisation_id=2, practitioner_id=None),
            visit(1, inside, "IMP", False, organisation_id=3, practitioner_id=2),
            visit(1, inside, "AMB", False, organisation_id=None, practitioner_id=3),
            visit(1, last + dt.timedelta(days=1), "EMER", True, organisation_id=9),  # future
            visit(1, None, "EMER", True),
        ],
    )
    f = features_by_person(ex, engine)[1]
    assert f["unplanned_admissions_12m"] == 1
    assert f["ae_attendances_12m"] == 1
    assert f["unplanned_contacts_12m"] == 2
    assert f["organisations_12m"] == 2
    assert f["clinicians_12m"] == 2


def test_discharged_in_last_30_days(engine: EngineName) -> None:
    def stay(person_id: int, end: dt.datetime, class_code: str = "IMP") -> dict[str, Any]:
        return visit(person_id, end - dt.timedelta(days=3), class_code, True, end=end)

    ex = extract(
        person=[person(1), person(2), person(3)],
        encounter=[
            stay(1, dt.datetime.combine(AS_OF - dt.timedelta(days=29), dt.time(10))),
            stay(2, dt.datetime.combine(AS_OF - dt.timedelta(days=30), dt.time(10))),  # boundary: outside
            stay(3, dt.datetime.combine(AS_OF - dt.timedelta(days=2), dt.time(10)), "AMB"),
        ],
    )
    f = features_by_person(ex, engine)
    assert [f[i]["discharged_30d"] for i in (1, 2, 3)] == [True, False, False]


def test_social_needs_falls_monitoring_and_demographics(engine: EngineName) -> None:
    ex = extract(
        person=[
            person(1, birth_date=dt.date(1954, 3, 31), imd_decile=1),
            person(2, birth_date=dt.date(1954, 4, 1), imd_decile=None),
            person(3, deceased=True),
            person(4, birth_date=dt.date(2025, 1, 1)),  # born after as_of
        ],
        condition=[
            dx(1, "105529008", dt.date(2020, 1, 1)),  # lives alone, by code
            dx(1, "9005", YEAR_AGO),  # fall on the boundary: outside
            dx(2, "9005", YEAR_AGO + dt.timedelta(days=1)),
            dx(1, "44054006", dt.date(2010, 1, 1)),
            dx(1, "38341003", dt.date(2010, 1, 1)),
        ],
        observation=[
            obs(1, "HBA1C", dt.datetime.combine(AS_OF - dt.timedelta(days=100), dt.time(9)), 48.0),
            obs(1, "UACR", dt.datetime.combine(AS_OF - dt.timedelta(days=365), dt.time(9)), 2.0),  # too old
            obs(1, "224484003", dt.datetime(2021, 1, 1)),  # is a carer, by code
        ],
        social=[
            {"person_id": 1, "kind": "lives_alone", "recorded_date": dt.date(2019, 1, 1)},
            {"person_id": 1, "kind": "debt", "recorded_date": None},
            {"person_id": 2, "kind": "unknown_kind", "recorded_date": None},
            {"person_id": 2, "kind": "is_carer", "recorded_date": dt.date(2030, 1, 1)},  # future
        ],
    )
    f = features_by_person(ex, engine)
    assert set(f) == {1, 2}
    one, two = f[1], f[2]
    assert one["age"] == 70 and two["age"] == 69
    assert one["age_band"] == "65-74"
    assert one["imd_quintile"] == 1 and two["imd_quintile"] is None
    assert one["lives_alone"] and one["is_carer"] and one["debt"] and one["social_need_count"] == 3
    assert not one["housebound"] and not one["financial_hardship"]
    assert two["social_need_count"] == 0 and not two["is_carer"]
    assert not one["falls"] and two["falls"]
    assert one["overdue_monitoring_count"] == 2  # urine albumin and blood pressure
    assert two["overdue_monitoring_count"] == 0


def test_register_names_codes_and_dates(engine: EngineName) -> None:
    ex = extract(
        person=[person(1), person(2)],
        condition=[
            dx(1, "38341003", dt.date(2010, 1, 1)),
            dx(1, "38341003", dt.date(2010, 1, 1)),  # duplicate row: one register row
            dx(1, "44054006", None, recorded=dt.date(2012, 5, 6)),
            dx(1, "46635009", dt.date(2013, 1, 1), status="resolved"),  # not evidence
            dx(2, "38341003", dt.date(2010, 1, 1)),  # one condition: not on the register
        ],
        medication=[rx(1, "PPI1", AS_OF - dt.timedelta(days=d)) for d in (5, 50, 100, 150)],
    )
    result = compute_population(ex, AS_OF, engine, knowledge=KNOWLEDGE)
    register = result.register
    assert register.schema == REGISTER_SCHEMA
    rows = [(r["person_id"], r["condition_id"], r["evidence"], r["code"], r["date"]) for r in register.to_pylist()]
    assert rows == [
        (1, "diabetes", "diagnosis", "44054006", dt.date(2012, 5, 6)),
        *[(1, "dyspepsia", "medicine", "PPI1", AS_OF - dt.timedelta(days=d)) for d in (150, 100, 50, 5)],
        (1, "hypertension", "diagnosis", "38341003", dt.date(2010, 1, 1)),
    ]


def test_feature_schema_is_stable_for_an_empty_extract(engine: EngineName) -> None:
    result = compute_features(Extract.from_tables(), AS_OF, engine, knowledge=KNOWLEDGE)
    assert result.num_rows == 0
    assert "cond_hypertension" in result.column_names and "social_isolation" in result.column_names


def test_validator_names_table_and_column() -> None:
    bad = table("encounter", []).set_column(1, "start", pa.array([], pa.timestamp("ns")))
    with pytest.raises(ExtractSchemaError, match="'encounter' column 'start'"):
        Extract.from_tables(encounter=bad)
    with pytest.raises(ExtractSchemaError, match="'person' column 'sex'"):
        extract(person=[person(1, sex="F")])
    with pytest.raises(ExtractSchemaError, match="'condition' has no column 'code'"):
        Extract.from_tables(condition=table("condition", []).drop_columns(["code"]))


def test_register_entries_and_explanations_in_words(engine: EngineName) -> None:
    from careweave.population.register import explain_person, register_entries

    ex = extract(
        person=[person(1), person(2)],
        condition=[
            dx(1, "38341003", dt.date(2010, 1, 1)),
            dx(1, "35489007", dt.date(2015, 6, 1)),  # old depression code ...
            dx(2, "38341003", dt.date(2010, 1, 1)),
        ],
        medication=[rx(1, "AD1", AS_OF - dt.timedelta(days=20))],  # ... plus current treatment
    )
    register = compute_population(ex, AS_OF, engine, knowledge=KNOWLEDGE).register
    entries = register_entries(register).to_pylist()
    assert entries == [
        {
            "person_id": 1,
            "condition_ids": ["depression", "hypertension"],
            "condition_names": ["Depression", "Hypertension"],
            "condition_count": 2,
        }
    ]
    explained = {e.condition_id: e.explanation for e in explain_person(register, 1)}
    assert explained["hypertension"] == "Hypertension: diagnosed (code 38341003 on 1 January 2010)"
    assert explained["depression"] == (
        "Depression: an earlier diagnosis (code 35489007 on 1 June 2015); "
        "1 prescription issue(s) of qualifying medicines between 11 March 2024 and 11 March 2024"
    )
    assert explain_person(register, 2) == []
