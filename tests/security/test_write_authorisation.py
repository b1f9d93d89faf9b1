"""Issue 8, findings 1-5: writes are authorised on what they change, not on the URL.

Each test drives the FHIR API as an attacker with an ordinary account would, and checks the record
afterwards: the victim's rows are untouched, no care relationship was created, the audit is ours.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from careweave.care import services as care_services
from careweave.fhir.importer import Importer
from careweave.governance import access
from careweave.governance.models import ApiToken, AuditEntry, CareTeamMember, Role, StaffProfile
from careweave.record import models as rm

pytestmark = pytest.mark.django_db

NHS = "https://fhir.nhs.uk/Id/nhs-number"
ALICE_NHS, BOB_NHS = "9434765919", "9434765870"
HOSPITAL = "urn:test:hospital"


def _patient(pid: str, nhs: str, family: str, practice: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": NHS, "value": nhs}],
        "name": [{"family": family, "given": ["Sam"]}],
        "gender": "female",
        "birthDate": "1950-03-02",
        "address": [{"line": [f"1 {family} Street"], "postalCode": "LS1 1AA"}],
        "generalPractitioner": [{"reference": f"Organization/{practice}"}],
    }


def _condition(cid: str, patient: str, code: str = "44054006") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
    }


def _org(oid: str, name: str) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": oid, "name": name}


@pytest.fixture
def world() -> dict[str, Any]:
    """Alice registered at Riverside, Bob at Hilltop; a hospital sent both their conditions."""
    seed = Importer(source_system=HOSPITAL)
    seed.import_bundle(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": _org("riverside", "Riverside Surgery")},
                {"resource": _org("hilltop", "Hilltop Surgery")},
                {"resource": _org("citycare", "City Community Care")},
                {"resource": _patient("alice", ALICE_NHS, "Alpha", "riverside")},
                {"resource": _patient("bob", BOB_NHS, "Bravo", "hilltop")},
                {"resource": _condition("c-alice", "alice")},
                {"resource": _condition("c-bob", "bob", "195967001")},
            ],
        },
        "seed.json",
    )
    orgs = {o.resource.logical_id: o for o in rm.Organisation.objects.select_related("resource")}
    users: dict[str, Any] = {}
    tokens: dict[str, str] = {}
    for name, role, org in (
        ("gp", Role.GP, "riverside"),
        ("other_gp", Role.GP, "hilltop"),
        ("nurse", Role.NURSE, "riverside"),
        ("community", Role.CARE_COORDINATOR, "citycare"),
        ("admin", Role.ADMINISTRATOR, None),
        ("analyst", Role.ANALYST, None),
        ("integrator", Role.INTEGRATOR, None),
    ):
        user = get_user_model().objects.create_user(username=name)  # tokens only: no password to hash
        StaffProfile.objects.create(user=user, role=role, organisation=orgs[org] if org else None)
        users[name] = user
        tokens[name] = ApiToken.issue(user, "test")

    def api(who: str) -> Callable[..., Any]:
        client = Client()

        def call(method: str, path: str, body: Any = None, **headers: str) -> Any:
            extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
            return getattr(client, method)(
                f"/fhir/{path}".rstrip("/"),
                data=orjson.dumps(body) if body is not None else None,
                content_type="application/fhir+json",
                HTTP_AUTHORIZATION=f"Bearer {tokens[who]}",
                **extra,
            )

        return call

    return {
        "users": users,
        "orgs": orgs,
        "api": api,
        "alice": rm.Person.objects.get(nhs_number=ALICE_NHS),
        "bob": rm.Person.objects.get(nhs_number=BOB_NHS),
    }


def _body(kind: str, lid: str) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(rm.StoredResource.objects.get(resource_type=kind, logical_id=lid).body)
    return body


def _relationships(person: rm.Person) -> set[str]:
    return set(
        rm.CareRelationship.objects.filter(person=person).values_list(
            "organisation__resource__logical_id", flat=True
        )
    )


# -- finding 1: record takeover by NHS number -----------------------------------------------------
def test_changing_the_nhs_number_in_a_put_cannot_take_over_another_record(world: dict[str, Any]) -> None:
    api = world["api"]("gp")
    takeover = _patient("alice", BOB_NHS, "Alpha", "riverside")
    response = api("put", "Patient/alice", takeover)
    assert response.status_code == 409
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "Patient/$merge" in response.json()["issue"][0]["diagnostics"]
    bob = rm.Person.objects.get(pk=world["bob"].pk)
    assert (bob.family_name, bob.registered_practice.resource.logical_id) == ("Bravo", "hilltop")
    assert _body("Patient", "bob")["name"][0]["family"] == "Bravo"
    assert _relationships(bob) == {"hilltop"}
    assert api("get", "Patient/bob/$everything").status_code == 404
    # a PUT with an NHS number that is nobody's is refused too: the person's identity is not edited
    assert api("put", "Patient/alice", _patient("alice", "9434765803", "Alpha", "riverside")).status_code == 409
    assert rm.Person.objects.get(pk=world["alice"].pk).nhs_number == ALICE_NHS


def test_a_put_to_a_patient_updates_that_patient_only(world: dict[str, Any]) -> None:
    api = world["api"]("gp")
    moved = _patient("alice", ALICE_NHS, "Alpha-Smith", "riverside")
    response = api("put", "Patient/alice", moved)
    assert response.status_code == 200
    assert response["Location"].split("/fhir/")[1].startswith("Patient/alice/")
    assert rm.Person.objects.get(pk=world["alice"].pk).family_name == "Alpha-Smith"
    assert rm.Person.objects.get(pk=world["bob"].pk).family_name == "Bravo"
    assert rm.StoredResource.objects.filter(resource_type="Patient").count() == 2


def test_an_integrator_cannot_change_an_nhs_number_either(world: dict[str, Any]) -> None:
    api = world["api"]("integrator")
    assert api("put", "Patient/alice", _patient("alice", BOB_NHS, "Alpha", "riverside")).status_code == 409
    assert rm.Person.objects.get(pk=world["bob"].pk).family_name == "Bravo"


# -- finding 2: moving and overwriting other people's resources ------------------------------------
def test_a_put_cannot_overwrite_or_move_someone_elses_condition(world: dict[str, Any]) -> None:
    api = world["api"]("gp")
    before = _body("Condition", "c-bob")
    forged = {**_condition("c-bob", "alice", "73211009"), "meta": {"source": HOSPITAL}}
    response = api("put", "Condition/c-bob", forged)
    assert response.status_code == 404  # Bob's condition is as unknown to this GP as a missing one
    assert _body("Condition", "c-bob") == before
    assert rm.Condition.objects.get(resource__logical_id="c-bob").person_id == world["bob"].pk
    # POST with the same explicit id and the hospital's meta.source lands in the GP's own identity space
    created = api("post", "Condition", forged)
    assert created.status_code == 201
    assert _body("Condition", "c-bob") == before
    new_id = created.json()["id"]
    assert new_id != "c-bob"
    assert rm.StoredResource.objects.get(resource_type="Condition", logical_id=new_id).source_system == (
        "urn:careweave:api:gp"
    )


def test_moving_a_condition_to_another_person_is_refused_for_everyone(world: dict[str, Any]) -> None:
    before = _body("Condition", "c-alice")
    # the GP may write for Alice but not for Bob: answered as if Bob did not exist
    gp = world["api"]("gp")("put", "Condition/c-alice", _condition("c-alice", "bob"))
    assert gp.status_code == 422
    assert "dangling reference Patient/bob" in gp.json()["issue"][0]["diagnostics"]
    # an integration client may write for both, but moving a resource is an administrator's operation
    integ = world["api"]("integrator")("put", "Condition/c-alice", _condition("c-alice", "bob"))
    assert integ.status_code == 409
    assert "$move" in integ.json()["issue"][0]["diagnostics"]
    assert _body("Condition", "c-alice") == before
    assert rm.Condition.objects.get(resource__logical_id="c-alice").person_id == world["alice"].pk


def test_a_reference_to_someone_outside_care_looks_like_a_reference_to_nobody(world: dict[str, Any]) -> None:
    api = world["api"]("gp")
    outsider = api("post", "Condition", _condition("x1", "bob"))
    unknown = api("post", "Condition", _condition("x2", "nobody-at-all"))
    assert outsider.status_code == unknown.status_code == 422
    assert outsider.json()["issue"][0]["diagnostics"].replace("bob", "?") == unknown.json()["issue"][0][
        "diagnostics"
    ].replace("nobody-at-all", "?")
    assert not rm.Condition.objects.filter(person=world["bob"]).exclude(resource__logical_id="c-bob").exists()


def test_meta_source_from_an_api_caller_is_never_trusted(world: dict[str, Any]) -> None:
    api = world["api"]("integrator")
    forged = {**_condition("c-bob", "bob", "73211009"), "meta": {"source": HOSPITAL}}
    assert api("post", "Condition", forged).status_code == 201
    assert _body("Condition", "c-bob")["code"]["coding"][0]["code"] == "195967001"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "meta": {"source": HOSPITAL},
        "entry": [{"resource": forged, "request": {"method": "POST", "url": "Condition"}}],
    }
    assert api("post", "", bundle).status_code == 200
    assert _body("Condition", "c-bob")["code"]["coding"][0]["code"] == "195967001"


# -- finding 3: break-glass made permanent ---------------------------------------------------------
def _expire_break_glass(monkeypatch: pytest.MonkeyPatch) -> None:
    later = timezone.now() + access.BREAK_GLASS_DURATION + timedelta(minutes=1)

    class Later:
        @staticmethod
        def now() -> Any:
            return later

    monkeypatch.setattr(access, "timezone", Later)


def test_writes_under_break_glass_do_not_outlive_it(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    api = world["api"]("other_gp")
    alice = world["alice"]
    assert api("get", "Patient/alice").status_code == 404
    glass = api("get", "Patient/alice", **{"X-Break-Glass-Reason": "Collapsed at the surgery, no record here"})
    assert glass.status_code == 200
    encounter = {
        "resourceType": "Encounter",
        "id": "bg-enc",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/alice"},
        "serviceProvider": {"reference": "Organization/hilltop"},
    }
    written = api("post", "Encounter", encounter)
    assert written.status_code == 201  # emergency care gets recorded
    assert AuditEntry.objects.filter(actor=world["users"]["other_gp"], action="create", break_glass=True).exists()
    assert "hilltop" not in _relationships(alice)
    # a re-registration at their own practice under break-glass gives nothing either
    rereg = api("put", "Patient/alice", _patient("alice", ALICE_NHS, "Alpha", "hilltop"))
    assert rereg.status_code == 200
    assert "hilltop" not in _relationships(alice)
    with pytest.raises(PermissionDenied):
        care_services.add_team_member(user=world["users"]["other_gp"], person=alice, member=world["users"]["other_gp"])
    assert not CareTeamMember.objects.filter(person=alice).exists()
    _expire_break_glass(monkeypatch)
    assert api("get", "Patient/alice").status_code == 404
    assert api("get", "Patient/alice/$everything").status_code == 404
    # a search about her is answered as the read is (issue 11): not an empty Bundle
    assert api("get", "Condition?patient=alice").status_code == 404
    listed = api("get", "Condition").json().get("entry", [])
    assert all(e["resource"].get("subject") != {"reference": "Patient/alice"} for e in listed)
    assert not access.decide(world["users"]["other_gp"], alice).allowed


def test_staff_writes_about_their_own_organisation_grant_it_nothing(world: dict[str, Any]) -> None:
    alice, community = world["alice"], world["users"]["community"]
    # added to the team by Alice's GP: a relationship someone else gave them
    care_services.add_team_member(user=world["users"]["gp"], person=alice, member=community)
    api = world["api"]("community")
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
        "subject": {"reference": "Patient/alice"},
        "serviceProvider": {"reference": "Organization/citycare"},
    }
    assert api("post", "Encounter", encounter).status_code == 201
    assert "citycare" not in _relationships(alice)
    care_services.remove_team_member(
        user=world["users"]["gp"], person=alice, member=CareTeamMember.objects.get(person=alice, user=community)
    )
    assert api("get", "Patient/alice").status_code == 404
    # the same encounter sent by the provider's own system (an integration client) is a relationship
    assert world["api"]("integrator")("post", "Encounter", encounter).status_code == 201
    assert "citycare" in _relationships(alice)


# -- finding 4 (API part): the audit is ours, read-only, and readable by id ----------------------
def test_audit_events_cannot_be_written_and_are_read_by_id_by_administrators(world: dict[str, Any]) -> None:
    gp, admin = world["api"]("gp"), world["api"]("admin")
    assert gp("get", "Patient/alice").status_code == 200
    entry = AuditEntry.objects.filter(actor=world["users"]["gp"], action="read").latest("pk")
    forged = {
        "resourceType": "AuditEvent",
        "id": str(entry.pk),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "recorded": "2020-01-01T00:00:00Z",
        "agent": [{"who": {"display": "someone else"}, "requestor": True}],
        "source": {"observer": {"display": "forger"}},
    }
    for who in ("gp", "integrator", "admin"):
        call = world["api"](who)
        assert call("put", f"AuditEvent/{entry.pk}", forged).status_code == 405
        assert call("post", "AuditEvent", forged).status_code == 405
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": _condition("t1", "alice"), "request": {"method": "POST", "url": "Condition"}},
            {"resource": forged, "request": {"method": "PUT", "url": f"AuditEvent/{entry.pk}"}},
        ],
    }
    assert world["api"]("integrator")("post", "", bundle).status_code == 405
    assert not rm.StoredResource.objects.filter(logical_id="t1").exists()  # all or nothing
    batch = {**copy.deepcopy(bundle), "type": "batch"}
    result = world["api"]("integrator")("post", "", batch).json()
    assert result["entry"][1]["response"]["status"].startswith("405")
    assert not rm.StoredResource.objects.filter(resource_type="AuditEvent").exists()
    # read by id: administrators only, and it is the real entry
    assert gp("get", f"AuditEvent/{entry.pk}").status_code == 403
    read = admin("get", f"AuditEvent/{entry.pk}")
    assert read.status_code == 200
    assert read.json()["agent"][0]["who"]["display"] == "gp"
    assert admin("get", "AuditEvent/999999999").status_code == 404


def test_a_file_import_skips_another_systems_audit_events(world: dict[str, Any]) -> None:
    importer = Importer(source_system="urn:test:other")
    importer.import_bundle(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "AuditEvent",
                        "type": {"code": "rest"},
                        "recorded": "2020-01-01T00:00:00Z",
                        "agent": [{"requestor": True}],
                        "source": {"observer": {"display": "elsewhere"}},
                    }
                }
            ],
        },
        "other.json",
    )
    assert not rm.StoredResource.objects.filter(resource_type="AuditEvent").exists()
    assert any("keeps its own audit" in w.message for w in importer.summary.warnings)


# -- finding 5: shared reference data ---------------------------------------------------------------
def test_clinicians_cannot_edit_shared_reference_data(world: dict[str, Any]) -> None:
    renamed = _org("hilltop", "Closed Surgery")
    for who in ("gp", "nurse", "community"):
        call = world["api"](who)
        assert call("put", "Organization/hilltop", renamed).status_code == 403
        assert call("post", "Organization", _org("newco", "New Co")).status_code == 403
        assert call("post", "Practitioner", {"resourceType": "Practitioner", "name": [{"family": "X"}]}).status_code == 403
    assert rm.Organisation.objects.get(resource__logical_id="hilltop").name == "Hilltop Surgery"
    assert world["api"]("admin")("put", "Organization/hilltop", renamed).status_code == 200
    assert rm.Organisation.objects.get(resource__logical_id="hilltop").name == "Closed Surgery"
    assert world["api"]("analyst")("put", "Organization/hilltop", _org("hilltop", "x")).status_code == 403


# -- the matrix: no role reaches a person outside its write scope -------------------------------------
WRITES: dict[str, Callable[[], tuple[str, str, Any]]] = {
    "create-for-outsider": lambda: ("post", "Condition", _condition("m1", "bob", "73211009")),
    "update-outsiders-condition": lambda: ("put", "Condition/c-bob", _condition("c-bob", "bob", "73211009")),
    "move-own-condition-to-outsider": lambda: ("put", "Condition/c-alice", _condition("c-alice", "bob")),
    "update-outsider-patient": lambda: ("put", "Patient/bob", _patient("bob", BOB_NHS, "Changed", "riverside")),
    "takeover-by-nhs-number": lambda: ("put", "Patient/alice", _patient("alice", BOB_NHS, "Alpha", "riverside")),
    "create-patient-with-outsiders-nhs": lambda: ("post", "Patient", _patient("p9", BOB_NHS, "Z", "riverside")),
    "transaction-update-outsider": lambda: (
        "post",
        "",
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": _condition("c-bob", "bob", "73211009"), "request": {"method": "PUT", "url": "Condition/c-bob"}}
            ],
        },
    ),
}


def _bob_state(world: dict[str, Any]) -> tuple[Any, ...]:
    bob = rm.Person.objects.get(pk=world["bob"].pk)
    return (
        bob.family_name,
        bob.registered_practice_id,
        tuple(sorted(rm.StoredResource.objects.filter(person=bob).values_list("logical_id", "content_hash"))),
        frozenset(_relationships(bob)),
        _body("Condition", "c-alice")["subject"]["reference"],
    )


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("who", ["gp", "nurse", "community", "admin", "analyst"])
def test_no_role_writes_outside_its_scope(world: dict[str, Any], who: str, write: str) -> None:
    before = _bob_state(world)
    method, path, body = WRITES[write]()
    response = world["api"](who)(method, path, body)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    assert _bob_state(world) == before


# -- the explicit, audited operations that replace takeover by write --------------------------------------
def _params(**references: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": n.replace("_", "-"), "valueReference": {"reference": r}} for n, r in references.items()],
    }


def test_only_administrators_move_a_resource_and_it_is_audited_for_both(world: dict[str, Any]) -> None:
    body = _params(patient="Patient/alice")
    for who in ("gp", "other_gp", "integrator", "analyst"):
        assert world["api"](who)("post", "Condition/c-bob/$move", body).status_code == 403
    assert rm.Condition.objects.get(resource__logical_id="c-bob").person_id == world["bob"].pk
    moved = world["api"]("admin")("post", "Condition/c-bob/$move", body)
    assert moved.status_code == 200, moved.content
    assert rm.Condition.objects.get(resource__logical_id="c-bob").person_id == world["alice"].pk
    assert _body("Condition", "c-bob")["subject"]["reference"] == "Patient/alice"
    audited = set(AuditEntry.objects.filter(action="move").values_list("person_id", flat=True))
    assert audited == {world["alice"].pk, world["bob"].pk}
    # the hospital re-sending its old copy (about Bob) is recognised, not a new move back
    again = Importer(source_system=HOSPITAL)
    again.import_resource(_condition("c-bob", "bob", "195967001"))
    assert again.summary.total("unchanged") == 1
    assert rm.Condition.objects.get(resource__logical_id="c-bob").person_id == world["alice"].pk


def test_administrators_merge_two_records_of_one_person(world: dict[str, Any]) -> None:
    body = _params(source_patient="Patient/bob", target_patient="Patient/alice")
    assert world["api"]("gp")("post", "Patient/$merge", body).status_code == 403
    merged = world["api"]("admin")("post", "Patient/$merge", body)
    assert merged.status_code == 200, merged.content
    assert set(rm.Condition.objects.filter(person=world["alice"]).values_list("resource__logical_id", flat=True)) == {
        "c-alice",
        "c-bob",
    }
    source = _body("Patient", "bob")
    assert source["active"] is False and source["link"][0]["type"] == "replaced-by"
    assert AuditEntry.objects.filter(action="merge", person=world["bob"]).exists()
    assert AuditEntry.objects.filter(action="merge", person=world["alice"]).exists()
    assert world["api"]("admin")("post", "Patient/$merge", _params(source_patient="Patient/alice", target_patient="Patient/alice")).status_code == 422
