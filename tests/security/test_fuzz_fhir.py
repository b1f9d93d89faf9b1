"""Property-based fuzz of the FHIR API: no input gives a 500, every refusal is an OperationOutcome,
and a refused write leaves the record as it was.

Three generators: searches (every type x every search parameter x hostile values, plus paging),
single writes (POST/PUT of mutated valid resources: the seed bundle, HL7 examples read from
../shared/data at run time, and a person from the project's own synthetic generator) and
transaction/batch bundles with broken entries. Bounded and derandomised so CI is repeatable.
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careweave.fhir.api import SEARCH_PARAMS, SEARCHABLE
from careweave.fhir.importer import FHIR_ID, Importer
from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.record import models as rm
from tests.conftest import SHARED_DATA
from tests.fhir.conftest import PATIENT_ID, transaction_bundle

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXAMPLES = (
    "Patient-example.json",
    "Condition-example.json",
    "Observation-example.json",
    "Encounter-example.json",
    "MedicationRequest-medrx0301.json",
    "Appointment-example.json",
    "AllergyIntolerance-example.json",  # a type kept raw (not modelled)
)


@functools.cache
def _synthetic() -> tuple[tuple[str, bytes], ...]:
    """One synthetic person from the project's own generator, as (file name, NDJSON) in import order."""
    from careweave.fhir.files import expand
    from careweave.synth.generator import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(people=1, seed=7, out_dir=Path(tmp), practices=1)
        # The CLI's own order: what is referred to comes first (ServiceRequest before Encounter.basedOn).
        files = [(p.name, p.read_bytes()) for p in expand([Path(tmp)]) if p.name.endswith(".ndjson")]
    return tuple((name, data) for name, data in files if data.strip())


def synthetic_seeds() -> list[dict[str, Any]]:
    """A few of each type (the world has them all, so their references resolve)."""
    return [orjson.loads(line) for _, text in _synthetic() for line in text.splitlines()[:2]]


def _world() -> dict[str, Any]:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "seed.json")
    synthetic = Importer(source_system="urn:careweave:synth:7")
    for name, text in _synthetic():
        synthetic.import_ndjson_lines(text.splitlines(), name)
    practice = rm.Organisation.objects.get(resource__logical_id="org-1")
    tokens = {}
    for name, role, org in (
        ("gp", Role.GP, practice),
        ("integrator", Role.INTEGRATOR, None),
        ("admin", Role.ADMINISTRATOR, None),
    ):
        user = get_user_model().objects.create_user(username=f"fuzz-{name}", password="a-long-test-password")
        StaffProfile.objects.create(user=user, role=role, organisation=org)
        tokens[name] = ApiToken.issue(user, "fuzz")
    return tokens


@pytest.fixture
def tokens(db: Any, settings: Any) -> dict[str, str]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return _world()


def _seeds() -> list[dict[str, Any]]:
    """Valid resources to mutate: the seed bundle's (about the seed patient), HL7 examples and a
    synthetic person when they are there (read at run time, never copied into the repository)."""
    seeds = [e["resource"] for e in transaction_bundle()["entry"]]
    examples = SHARED_DATA / "fhir-r4-examples"
    for name in EXAMPLES:
        path = examples / name
        if path.exists():
            seeds.append(json.loads(path.read_text()))
    return seeds


SEEDS = _seeds()
HOSTILE_SCALARS: list[Any] = [
    None,
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "9" * 40,
    10**30,
    -1,
    0,
    1.5e308,
    True,
    "9999-12",
    "0000",
    "9999-12-31T23:59:59Z",
    "x" * 5000,
    "Patient/" + "9" * 80,
    "urn:uuid:nowhere",
    "Patient?identifier=a|b",
    "#frag",
    "é😀",
]
scalar = st.sampled_from(HOSTILE_SCALARS) | st.text(max_size=30) | st.integers()
hostile = st.recursive(
    scalar,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*path, i)
            yield from _paths(value, (*path, i))


def _nest(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"url": "http://example.org/x", "valueString": "leaf"}
    for _ in range(depth):
        node = {"url": "http://example.org/x", "extension": [node]}
    return node


@st.composite
def mutated(draw: st.DrawFn, seeds: list[dict[str, Any]] = SEEDS) -> dict[str, Any]:
    resource = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(resource) if p != ("resourceType",)] or [("id",)]
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent: Any = resource
        for part in path[:-1]:
            parent = parent[part]
        op = draw(st.sampled_from(["replace", "delete", "wrap", "unwrap", "nest", "stringify"]))
        key = path[-1]
        current = parent[key]
        if op == "delete":
            del parent[key]
        elif op == "wrap":
            parent[key] = [current]
        elif op == "unwrap" and isinstance(current, list):
            parent[key] = current[0] if current else {}
        elif op == "nest":
            parent[key] = _nest(draw(st.sampled_from([3, 70, 300])))
        elif op == "stringify":
            parent[key] = json.dumps(current)[:200]
        else:
            parent[key] = draw(hostile)
    return resource


def _client() -> Client:
    return Client()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _record_counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count()
        for m in (rm.StoredResource, rm.Person, rm.ResourceIdentifier, rm.Condition, rm.Observation)
    )


def _assert_outcome(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"
    if response.status_code >= 400:
        body = orjson.loads(response.content)
        assert body["resourceType"] == "OperationOutcome", what
        assert body["issue"], what


# -- (a) searches ---------------------------------------------------------------------------------
SEARCH_VALUES = [
    "",
    "9999-12",
    "ge9999-12",
    "lt0001-01",
    "0000",
    "ap2020",
    "eq2024-02-30",
    "sa9999-12-31",
    "9" * 30,
    "-1",
    "\x00",
    "a\x00",
    "é😀",
    "a,b,,c",
    "|",
    "||",
    "http://snomed.info/sct|",
    "|44054006",
    "Patient/",
    f"Patient/{PATIENT_ID}",
    "x" * 2000,
    "%",
    "_",
    "'; drop table x; --",
]
search_value = st.sampled_from(SEARCH_VALUES) | st.text(max_size=20)
modifier = st.sampled_from(["", "", ":exact", ":contains", ":missing", ":not", ":text", ":bogus"])
paging_value = st.sampled_from(["-1", "0", "1", "500", "501", "9" * 25, "1e3", " 2", "abc", "", "\x00"])


@st.composite
def search_request(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    kind = draw(st.sampled_from(sorted(SEARCH_PARAMS)))
    names = sorted(SEARCH_PARAMS[kind])
    params = [
        (draw(st.sampled_from(names)) + draw(modifier), draw(search_value))
        for _ in range(draw(st.integers(0, 3)))
    ]
    for control in ("_count", "_offset"):
        if draw(st.booleans()):
            params.append((control, draw(paging_value)))
    if draw(st.integers(0, 9)) == 0:
        params.append((draw(st.text(max_size=10)), draw(search_value)))
    return kind, params


def test_every_search_parameter_is_covered() -> None:
    """The generator draws from SEARCH_PARAMS itself, so a new type or parameter is fuzzed too."""
    assert set(SEARCHABLE) <= set(SEARCH_PARAMS)


@FUZZ
@given(request=search_request(), who=st.sampled_from(["gp", "integrator", "admin"]))
def test_search_never_500(tokens: dict[str, str], request: tuple[str, list[tuple[str, str]]], who: str) -> None:
    kind, params = request
    response = _client().get(f"/fhir/{kind}", params, headers=_auth(tokens[who]))
    _assert_outcome(response, f"GET /fhir/{kind} {params!r}")


@FUZZ
@given(
    kind=st.sampled_from([*SEARCHABLE, "AuditEvent", "CarePlan", "Goal", "CareTeam", "Nope"]),
    logical_id=st.sampled_from([PATIENT_ID, "cond-1", "x", "9" * 64, "a.b-c", "..", "-"]),
    suffix=st.sampled_from(["", "/$everything"]),
    who=st.sampled_from(["gp", "integrator", "admin"]),
)
def test_read_never_500(tokens: dict[str, str], kind: str, logical_id: str, suffix: str, who: str) -> None:
    response = _client().get(f"/fhir/{kind}/{logical_id}{suffix}", headers=_auth(tokens[who]))
    assert response.status_code < 500


# -- (b) single writes ----------------------------------------------------------------------------
@FUZZ
@given(
    data=st.data(),
    synthetic=st.booleans(),
    method=st.sampled_from(["POST", "PUT"]),
    who=st.sampled_from(["gp", "integrator"]),
)
def test_write_never_500_and_refusals_write_nothing(
    tokens: dict[str, str], data: st.DataObject, synthetic: bool, method: str, who: str
) -> None:
    resource = data.draw(mutated(synthetic_seeds() if synthetic else SEEDS))
    kind = resource.get("resourceType") if isinstance(resource.get("resourceType"), str) else "Patient"
    # an id the URL patterns cannot match is Django's 404 page, not the API
    logical_id = resource.get("id") if FHIR_ID.match(str(resource.get("id"))) else "fuzz-1"
    url = f"/fhir/{kind}" if method == "POST" else f"/fhir/{kind}/{logical_id}"
    body = orjson.dumps(resource, option=orjson.OPT_NON_STR_KEYS) if _encodable(resource) else b"{"
    before = _record_counts()
    client = _client()
    send = client.post if method == "POST" else client.put
    response = send(url, body, content_type="application/fhir+json", headers=_auth(tokens[who]))
    _assert_outcome(response, f"{method} {url}")
    if response.status_code >= 400:
        assert _record_counts() == before, f"{method} {url} was refused but wrote rows"


def _encodable(value: Any) -> bool:
    try:
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return False  # a lone surrogate: sent as broken JSON instead
    return True


@FUZZ
@given(depth=st.integers(20, 400))
def test_deep_nesting_is_refused_before_validation(tokens: dict[str, str], depth: int) -> None:
    # written as text: orjson itself refuses to encode this deep
    leaf = b'{"url": "http://example.org/x", "valueString": "leaf"}'
    nested = b'{"url": "http://example.org/x", "extension": [' * depth + leaf + b"]}" * depth
    resource = orjson.dumps(SEEDS[2])[:-1] + b', "extension": [' + nested + b"]}"
    before = _record_counts()
    response = _client().post(
        "/fhir/Condition", resource, content_type="application/fhir+json", headers=_auth(tokens["integrator"])
    )
    _assert_outcome(response, f"nesting {depth}")
    if depth * 2 > 64:
        assert response.status_code == 400 and _record_counts() == before


# -- (c) transaction and batch bundles --------------------------------------------------------------
broken_entry = st.one_of(
    st.builds(
        lambda resource, method, url: {"resource": resource, "request": {"method": method, "url": url}},
        mutated(),
        st.sampled_from(["POST", "PUT", "DELETE", "GET", "PATCH", "BOGUS", ""]),
        st.sampled_from(["Patient", f"Patient/{PATIENT_ID}", "Condition/cond-1", "Condition?x=1", "", "/"]),
    ),
    st.builds(lambda resource: {"fullUrl": "urn:uuid:fuzz", "resource": resource}, mutated()),
    hostile,
)


@FUZZ
@given(
    kind=st.sampled_from(["transaction", "batch"]),
    entries=st.lists(broken_entry, min_size=1, max_size=3),
    keep_valid=st.booleans(),
)
def test_bundles_never_500(tokens: dict[str, str], kind: str, entries: list[Any], keep_valid: bool) -> None:
    valid = transaction_bundle()["entry"] if keep_valid else []
    bundle = {"resourceType": "Bundle", "type": kind, "entry": [*valid, *entries]}
    if not _encodable(bundle):
        return
    before = _record_counts()
    response = _client().post(
        "/fhir", orjson.dumps(bundle, option=orjson.OPT_NON_STR_KEYS), content_type="application/fhir+json",
        headers=_auth(tokens["integrator"]),
    )
    _assert_outcome(response, f"{kind} bundle")
    if kind == "transaction" and response.status_code >= 400:
        assert _record_counts() == before, "a refused transaction wrote rows"
