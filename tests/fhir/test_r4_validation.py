"""Validation to the R4 specification (issue 11, item 2): each rule has a failing and a passing case,
and a refused bundle names file, entry and element for every problem at once."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from careweave.fhir.importer import Importer
from careweave.fhir.outcome import Refused
from careweave.fhir.r4 import bundle as bundle_rules
from careweave.fhir.r4 import generate
from careweave.fhir.r4.validator import validate
from careweave.record import models as rm
from tests.fhir.conftest import patient, transaction_bundle

HL7 = "http://terminology.hl7.org/CodeSystem/"


def condition(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
        "clinicalStatus": {"coding": [{"system": HL7 + "condition-clinical", "code": "active"}]},
        **extra,
    }


def observation(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def appointment(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": "2026-01-01T09:00:00Z",
        "end": "2026-01-01T09:15:00Z",
        "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}],
        **extra,
    }


VALID = [patient(), condition(), observation(valueString="x"), appointment()]


@pytest.mark.parametrize("resource", VALID, ids=lambda r: r["resourceType"])
def test_valid_resources_pass(resource: dict[str, Any]) -> None:
    assert validate(resource) == []


# (failing resource, the rule it breaks, the same resource made valid)
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("required", {k: v for k, v in observation().items() if k != "code"}, observation()),
    ("required", {k: v for k, v in observation().items() if k != "status"}, observation()),
    (
        "required-choice",
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
        },
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": "x"},
        },
    ),
    ("cardinality-many", patient() | {"name": {"family": "A"}}, patient()),
    ("cardinality-one", patient() | {"gender": ["male"]}, patient()),
    ("choice-twice", observation(valueString="a", valueBoolean=True), observation(valueString="a")),
    ("binding-code", patient() | {"gender": "boy"}, patient()),
    (
        "binding-concept",
        condition(clinicalStatus={"coding": [{"system": HL7 + "condition-clinical", "code": "bad"}]}),
        condition(),
    ),
    ("ele-1", patient() | {"telecom": [{}]}, patient()),
    ("ele-1-null", patient() | {"birthDate": None}, patient()),
    (
        "ext-1",
        patient()
        | {
            "extension": [
                {"url": "http://x", "valueBoolean": True, "extension": [{"url": "a", "valueString": "b"}]}
            ]
        },
        patient() | {"extension": [{"url": "http://x", "valueBoolean": True}]},
    ),
    ("modifier", patient() | {"modifierExtension": [{"url": "http://x", "valueBoolean": True}]}, patient()),
    ("id-length", patient(pid="a" * 65), patient(pid="a" * 64)),
    (
        "contained-id",
        condition(
            contained=[{"resourceType": "Patient", "id": "b" * 65}], subject={"reference": "#" + "b" * 65}
        ),
        condition(contained=[{"resourceType": "Patient", "id": "b"}], subject={"reference": "#b"}),
    ),
    ("coding-system", condition(code={"coding": [{"system": "snomed", "code": "1"}]}), condition()),
    (
        "per-1",
        condition(onsetPeriod={"start": "2020-02-01", "end": "2020-01-01"}),
        condition(onsetPeriod={"start": "2020-01-01", "end": "2020-02-01"}),
    ),
    (
        "per-1-datetime",
        patient()
        | {
            "name": [
                {"family": "A", "period": {"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T09:00:00Z"}}
            ]
        },
        patient()
        | {
            "name": [
                {
                    "family": "A",
                    "period": {"start": "2020-01-01T09:00:00Z", "end": "2020-01-01T10:00:00+00:00"},
                }
            ]
        },
    ),
    (
        "ref-1",
        condition(subject={"reference": "#nobody"}),
        condition(contained=[{"resourceType": "Patient", "id": "p"}], subject={"reference": "#p"}),
    ),
    (
        "dom-2",
        condition(
            contained=[
                {"resourceType": "Patient", "id": "p", "contained": [{"resourceType": "Patient", "id": "q"}]}
            ],
            subject={"reference": "#p"},
        ),
        condition(contained=[{"resourceType": "Patient", "id": "p"}], subject={"reference": "#p"}),
    ),
    (
        "dom-3",
        condition(contained=[{"resourceType": "Patient", "id": "p"}]),
        condition(contained=[{"resourceType": "Patient", "id": "p"}], subject={"reference": "#p"}),
    ),
    (
        "dom-4",
        condition(
            contained=[{"resourceType": "Patient", "id": "p", "meta": {"versionId": "1"}}],
            subject={"reference": "#p"},
        ),
        condition(contained=[{"resourceType": "Patient", "id": "p"}], subject={"reference": "#p"}),
    ),
    (
        "dom-5",
        condition(
            contained=[{"resourceType": "Patient", "id": "p", "meta": {"security": [{"code": "R"}]}}],
            subject={"reference": "#p"},
        ),
        condition(contained=[{"resourceType": "Patient", "id": "p"}], subject={"reference": "#p"}),
    ),
    (
        "qty-3",
        observation(valueQuantity={"value": 1, "code": "mg"}),
        observation(valueQuantity={"value": 1, "code": "mg", "system": "http://unitsofmeasure.org"}),
    ),
    (
        "rng-2",
        observation(valueRange={"low": {"value": 5}, "high": {"value": 1}}),
        observation(valueRange={"low": {"value": 1}, "high": {"value": 5}}),
    ),
    (
        "pat-1",
        patient() | {"contact": [{"gender": "male"}]},
        patient() | {"contact": [{"name": {"family": "B"}}]},
    ),
    ("nhs-number", patient(nhs="1234567890"), patient()),
    (
        "con-4",
        condition(abatementDateTime="2021-01-01"),
        condition(
            abatementDateTime="2021-01-01",
            clinicalStatus={"coding": [{"system": HL7 + "condition-clinical", "code": "resolved"}]},
        ),
    ),
    (
        "con-5",
        condition(
            verificationStatus={
                "coding": [{"system": HL7 + "condition-ver-status", "code": "entered-in-error"}]
            }
        ),
        {
            k: v
            for k, v in condition(
                verificationStatus={
                    "coding": [{"system": HL7 + "condition-ver-status", "code": "entered-in-error"}]
                }
            ).items()
            if k != "clinicalStatus"
        },
    ),
    (
        "obs-6",
        observation(valueString="a", dataAbsentReason={"text": "x"}),
        observation(dataAbsentReason={"text": "x"}),
    ),
    (
        "obs-7",
        observation(
            valueString="a",
            component=[
                {"code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]}, "valueString": "b"}
            ],
        ),
        observation(
            valueString="a",
            component=[
                {"code": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]}, "valueString": "b"}
            ],
        ),
    ),
    (
        "obs-3",
        observation(referenceRange=[{"appliesTo": [{"text": "adults"}]}]),
        observation(referenceRange=[{"text": "normal"}]),
    ),
    ("app-2", {k: v for k, v in appointment().items() if k != "end"}, appointment()),
    (
        "app-3",
        {k: v for k, v in appointment().items() if k not in ("start", "end")},
        {k: v for k, v in appointment(status="proposed").items() if k not in ("start", "end")},
    ),
    (
        "app-4",
        appointment(cancelationReason={"text": "x"}),
        appointment(status="cancelled", cancelationReason={"text": "x"}),
    ),
    (
        "org-1",
        {"resourceType": "Organization", "active": True},
        {"resourceType": "Organization", "name": "A"},
    ),
    (
        "org-2",
        {"resourceType": "Organization", "name": "A", "address": [{"use": "home", "city": "X"}]},
        {"resourceType": "Organization", "name": "A", "address": [{"use": "work", "city": "X"}]},
    ),
    (
        "ait-1",
        {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"}},
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"system": HL7 + "allergyintolerance-clinical", "code": "active"}]},
        },
    ),
    (
        "inv-1",
        {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "authoredOn": "2026-02-01",
            "lastModified": "2026-01-01",
        },
        {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "authoredOn": "2026-01-01",
            "lastModified": "2026-02-01",
        },
    ),
    (
        "prr-1",
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "orderDetail": [{"text": "x"}],
        },
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "orderDetail": [{"text": "x"}],
            "code": {"text": "y"},
        },
    ),
]


@pytest.mark.parametrize(("rule", "bad", "good"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_fails_and_passes(rule: str, bad: dict[str, Any], good: dict[str, Any]) -> None:
    assert validate(bad), f"{rule}: the invalid case was accepted"
    assert validate(good) == [], f"{rule}: the valid case was refused: {validate(good)}"


def test_every_problem_is_reported_at_once() -> None:
    bad = patient(nhs="1234567890", pid="x" * 70) | {"gender": "boy", "telecom": [{}]}
    found = validate(bad)
    assert {path for _, path, _ in found} >= {"id", "gender", "telecom[0]", "identifier[0].value"}


def test_datetimes_of_different_precision_are_not_compared() -> None:
    assert validate(condition(onsetPeriod={"start": "2020-01-01T10:00:00Z", "end": "2020-01-01"})) == []


# -- bundle rules ---------------------------------------------------------------------------------


def test_a_good_transaction_breaks_no_bundle_rule() -> None:
    assert bundle_rules.problems(transaction_bundle()) == []


BUNDLE_CASES = [
    ("bdl-1", {"total": 3}),
    ("bdl-3", {"entry_request": None}),
    ("bdl-4", {"entry_response": {"status": "201"}}),
    ("fullUrl", {"fullUrl": "Patient/1"}),
    ("bdl-7", {"fullUrl_dup": True}),
    ("bdl-8", {"fullUrl": "https://example.org/fhir/Patient/1/_history/2"}),
    ("link", {"link": [{"relation": "self", "url": "https://a"}, {"relation": "self", "url": "https://b"}]}),
    ("type-id", {"id_dup": True}),
]


@pytest.mark.parametrize(("rule", "change"), BUNDLE_CASES, ids=[c[0] for c in BUNDLE_CASES])
def test_bundle_rules_fail_and_pass(rule: str, change: dict[str, Any]) -> None:
    good = transaction_bundle()
    bad = copy.deepcopy(good)
    if "total" in change:
        bad["total"] = change["total"]
    if "entry_request" in change:
        del bad["entry"][1]["request"]
    if "entry_response" in change:
        bad["entry"][1]["response"] = change["entry_response"]
    if "fullUrl" in change:
        bad["entry"][1]["fullUrl"] = change["fullUrl"]
    if "fullUrl_dup" in change:
        bad["entry"][2]["fullUrl"] = bad["entry"][1]["fullUrl"]
    if "link" in change:
        bad["link"] = change["link"]
    if "id_dup" in change:
        for e in bad["entry"][:2]:
            e["request"] = {"method": "PUT", "url": "x"}
        bad["entry"][1]["resource"]["id"] = bad["entry"][0]["resource"]["id"]
        bad["entry"][1]["resource"]["resourceType"] = "Organization"
        bad["entry"][1]["resource"] = bad["entry"][0]["resource"]
    assert bundle_rules.problems(bad), rule
    assert bundle_rules.problems(good) == []


@pytest.mark.django_db
def test_a_refused_bundle_names_every_problem_and_writes_nothing() -> None:
    bad = transaction_bundle()
    bad["entry"][0]["fullUrl"] = "org-1"  # not absolute
    bad["entry"][1]["resource"]["gender"] = "boy"
    bad["entry"][2]["resource"]["onsetPeriod"] = {"start": "2020-02-01", "end": "2020-01-01"}
    with pytest.raises(Refused) as refused:
        Importer(source_system="urn:test").import_bundle(bad, "b.json")
    where = {(i.entry, i.expression) for i in refused.value.issues}
    assert (0, "Bundle.entry[0].fullUrl") in where
    assert (1, "Bundle.entry[1].resource.gender") in where
    assert (2, "Bundle.entry[2].resource.onsetPeriod") in where
    assert all(i.file == "b.json" for i in refused.value.issues)
    assert rm.StoredResource.objects.count() == 0


def test_definitions_are_generated_from_the_published_r4_package() -> None:
    if not generate.SOURCE.exists():
        pytest.skip("node_modules/fhir is not installed (make install)")
    assert generate.main([]) == 0, "definitions.json differs from the package: regenerate it"
