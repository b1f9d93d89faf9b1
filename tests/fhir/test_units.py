"""Observation values are converted to the record's canonical unit for their code, never relabelled
(issue 10, item 6): the conversions against published figures, the reviewed file's checks, and mixed
units posted through the FHIR API as the summary, its trend and the population extract then read them.

The defect this guards against: an HbA1c posted in % made the summary show every earlier mmol/mol
reading as "%" (the trend line dropped from 48 to 7)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.population.compute import compute_features
from careweave.record import models as rm
from careweave.segmentation.extract import build_extract
from careweave.terminology import TerminologyError
from careweave.terminology.loading.units import UNITS_FILE, load_units
from careweave.terminology.units import CANONICAL, CONVERTED, NO_CANONICAL_UNIT, UNRECOGNISED
from careweave.web.presenters import person_record
from careweave.web.summary import key_result_trends
from tests.fhir.conftest import PATIENT_ID, transaction_bundle

LOINC, SNOMED, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"


def convert(code: str, value: float, unit: str, system: str = LOINC) -> tuple[float | None, str, str]:
    result = load_units().convert(system, code, value, [unit])
    return (None if result.value is None else round(result.value, 1)), result.unit, result.status


# -- the arithmetic, against published figures -------------------------------------------------------


def test_hba1c_percent_converts_by_the_ifcc_ngsp_master_equation() -> None:
    # UK DCCT/IFCC conversion tables (Diabetes UK, 2009): 6.5% = 48, 7.0% = 53, 8.0% = 64 mmol/mol.
    assert [convert("4548-4", v, "%")[0] for v in (6.5, 7.0, 8.0)] == [47.5, 53.0, 63.9]
    assert convert("4548-4", 48, "mmol/mol") == (48.0, "mmol/mol", CANONICAL)
    # and back: NGSP = 0.09148 x IFCC + 2.152 (Hoelzel 2004), so 53 mmol/mol is 7.0%
    scale = load_units().analyte_for(LOINC, "4548-4").scales[0]  # type: ignore[union-attr]
    assert round(scale.slope * 53 + scale.intercept, 1) == 7.0
    # % is a different scale, never a UCUM factor: 7% is not 70 mmol/mol
    assert convert("4548-4", 7, "%")[0] != 70.0


def test_molar_and_mass_concentrations_convert_by_molar_mass() -> None:
    # Young 1987: creatinine 1 mg/dL = 88.4 umol/L; glucose 90 mg/dL = 5.0 mmol/L; cholesterol
    # 200 mg/dL = 5.2 mmol/L
    assert convert("38483-4", 1.0, "mg/dL") == (88.4, "umol/L", CONVERTED)
    assert convert("1000731000000107", 88.4, "µmol/L", SNOMED) == (88.4, "umol/L", CANONICAL)
    assert convert("2339-0", 90, "mg/dL")[0] == 5.0
    assert convert("2093-3", 200, "mg/dL")[0] == 5.2
    assert convert("2339-0", 0.9, "g/L")[0] == 5.0  # a plain prefix change on the way: g/L = 100 mg/dL


def test_weights_heights_and_prefixes() -> None:
    assert convert("29463-7", 154, "[lb_av]") == (69.9, "kg", CONVERTED)
    assert convert("29463-7", 70500, "g")[0] == 70.5
    assert convert("29463-7", 11, "lbs")[0] == 5.0  # an alias senders use
    assert convert("8302-2", 70, "[in_i]") == (177.8, "cm", CONVERTED)
    assert convert("8302-2", 1.72, "m")[0] == 172.0
    ucum = load_units().ucum
    assert ucum.parse("g/L").dimension == ucum.parse("mg/dL").dimension
    assert round(ucum.parse("g/L").factor / ucum.parse("mg/dL").factor, 6) == 100.0
    # UCUM annotations are unity: eGFR sent as mL/min (as Synthea does) is mL/min/{1.73_m2}
    assert convert("33914-3", 61, "mL/min") == (61.0, "mL/min/{1.73_m2}", CONVERTED)
    assert convert("8480-6", 142, "mmHg") == (142.0, "mm[Hg]", CANONICAL)


def test_what_cannot_be_converted_is_flagged_not_guessed() -> None:
    assert convert("4548-4", 5.8, "mmol/L") == (None, "mmol/mol", UNRECOGNISED)  # wrong dimension
    assert convert("4548-4", 0.07, "1") == (None, "mmol/mol", UNRECOGNISED)  # not in the accepted list
    assert convert("4548-4", 48, "") == (None, "mmol/mol", UNRECOGNISED)  # no unit at all
    assert convert("29463-7", 70, "stone")[2] == UNRECOGNISED
    assert convert("29463-7", 70, "mg/dL")[2] == UNRECOGNISED
    assert convert("99999-9", 1.0, "mg")[2] == NO_CANONICAL_UNIT  # a code with no reviewed unit


def test_every_key_measurement_has_a_canonical_unit() -> None:
    from careweave.terminology import load_key_measurements

    units = load_units()
    for measurement in load_key_measurements():
        for system, code in measurement.codes:
            assert units.analyte_for(system, code) is not None, (measurement.id, code)


# -- the reviewed file is checked like every other --------------------------------------------------


def _broken_copy(tmp_path: Path, change: Any) -> Path:
    data = yaml.safe_load(UNITS_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "units.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            lambda d: d["analytes"][1].update(canonical_unit="umol/X"),
            "analytes[1](creatinine).canonical_unit",
            "unknown unit",
        ),
        (
            lambda d: d["analytes"][0].update(units=["mmol/L"]),
            "analytes[0](hba1c).units[0]",
            "does not convert",
        ),
        (lambda d: d["analytes"][2].pop("sources"), "analytes[2](glucose)", "sources"),
        (
            lambda d: d["analytes"][0]["scales"][0].update(slope="steep"),
            "analytes[0](hba1c).scales[0].slope",
            "number",
        ),
        (lambda d: d["aliases"]["map"].update(stone="[stone_av]"), "aliases.map.stone", "unknown unit"),
    ],
)
def test_a_broken_units_file_is_refused_naming_the_field(
    tmp_path: Path, change: Any, where: str, message: str
) -> None:
    with pytest.raises(TerminologyError) as raised:
        load_units(_broken_copy(tmp_path, change))
    assert raised.value.path == where and message in raised.value.message


# -- mixed units through the FHIR API --------------------------------------------------------------


def _obs(
    n: int, code: str, value: float, unit: str, days_ago: int, ucum_code: str | None = None
) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit}
    if ucum_code is not None:
        quantity.update(system=UCUM, code=ucum_code)
    when = (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()
    return {
        "fullUrl": f"urn:uuid:mixed-{n}",
        "request": {"method": "POST", "url": "Observation"},
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": f"urn:uuid:{PATIENT_ID}"},
            "effectiveDateTime": when,
            "valueQuantity": quantity,
        },
    }


@pytest.fixture
def mixed(db: Any) -> dict[str, Any]:
    integrator = get_user_model().objects.create_user(username="integrator", password="a-long-test-password")
    StaffProfile.objects.create(user=integrator, role=Role.INTEGRATOR)
    token = ApiToken.issue(integrator, "test")
    bundle = transaction_bundle()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Observation"]
    bundle["entry"] += [
        _obs(1, "4548-4", 48, "mmol/mol", 300, "mmol/mol"),  # IFCC, as UK laboratories report
        _obs(2, "4548-4", 7.0, "%", 120, "%"),  # then DCCT-aligned % from another sender
        _obs(3, "4548-4", 5.8, "mmol/L", 60),  # a unit HbA1c cannot be in: flagged, not charted
        _obs(4, "29463-7", 176, "lb", 90, "[lb_av]"),
        _obs(5, "29463-7", 81, "kg", 30, "kg"),
    ]
    response = Client().post(
        "/fhir",
        json.dumps(bundle),
        content_type="application/fhir+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    person = rm.Person.objects.get(nhs_number="9434765919")
    gp = get_user_model().objects.create_user(username="gp", password="a-long-test-password")
    StaffProfile.objects.create(user=gp, role=Role.GP, organisation=person.registered_practice)
    client = Client()
    client.force_login(gp)
    return {"person": person, "client": client}


def test_the_value_as_sent_is_kept_beside_the_canonical_value(mixed: dict[str, Any]) -> None:
    rows = {
        (o.value, o.unit): (
            o.value_canonical and round(o.value_canonical, 1),
            o.unit_canonical,
            o.unit_status,
        )
        for o in rm.Observation.objects.filter(code__in=("4548-4", "29463-7"))
    }
    assert rows == {
        (48.0, "mmol/mol"): (48.0, "mmol/mol", CANONICAL),
        (7.0, "%"): (53.0, "mmol/mol", CONVERTED),
        (5.8, "mmol/L"): (None, "mmol/mol", UNRECOGNISED),
        (176.0, "lb"): (79.8, "kg", CONVERTED),
        (81.0, "kg"): (81.0, "kg", CANONICAL),
    }


def test_the_trend_is_in_mmol_per_mol_and_leaves_the_unconvertible_reading_out(mixed: dict[str, Any]) -> None:
    trends = {t.label: t for t in key_result_trends(mixed["person"])}
    hba1c = trends["HbA1c"]
    assert [r.value for r in hba1c.readings] == ["48 mmol/mol", "53 mmol/mol"]  # oldest first, one unit
    assert hba1c.latest == "53 mmol/mol"
    assert [r.value for r in hba1c.not_converted] == ["5.8 mmol/L (unit not recognised: shown as sent)"]
    match = re.search(r'points="([^"]*)"', str(hba1c.chart))
    assert match is not None
    points = [tuple(float(n) for n in p.split(",")) for p in match.group(1).split()]
    assert len(points) == 2 and points[1][1] < points[0][1]  # two points, and the line rises (48 -> 53)
    assert [r.value for r in trends["Weight"].readings] == ["79.8 kg", "81 kg"]


def test_the_summary_never_relabels_a_reading(mixed: dict[str, Any]) -> None:
    page = mixed["client"].get(f"/people/{mixed['person'].pk}/").content.decode()
    assert 'aria-label="HbA1c: 2 readings from 48 mmol/mol on ' in page and "to 53 mmol/mol on" in page
    assert "48 %" not in page and "7 mmol/mol" not in page and "7.0 mmol/mol" not in page
    assert "5.8 mmol/L (unit not recognised: shown as sent)" in page
    latest = {m.label: m.value for m in person_record(mixed["person"]).measurements}
    # the full record's "latest" is the newest reading: here the unconvertible one, as sent and flagged
    assert (
        latest["HbA1c"] == "5.8 mmol/L (unit not recognised: shown as sent)" and latest["Weight"] == "81 kg"
    )


def test_the_population_extract_and_features_use_canonical_values(mixed: dict[str, Any]) -> None:
    extract = build_extract()
    rows = [r for r in extract.observation.to_pylist() if r["code"] == "4548-4"]  # type: ignore[union-attr]
    values = sorted((r["value"] is None, r["value"] and round(r["value"], 1)) for r in rows)
    assert values == [(False, 48.0), (False, 53.0), (True, None)]  # the mmol/L reading carries no value
    features = compute_features(extract, timezone.localdate()).to_pylist()
    (person,) = [f for f in features if f["person_id"] == mixed["person"].pk]
    # the converted reading (120 days ago) counts as HbA1c monitoring done
    assert "HbA1c" not in (person.get("overdue_monitoring_detail") or "")
