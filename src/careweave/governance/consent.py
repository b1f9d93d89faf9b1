"""The person's sharing choices (FHIR Consent) and the role scopes: which parts of a record a user
sees, decided here and applied through `governance.access.open_record` (ADR 0021).

A part of the record is shown to a user when their role's scope and their organisation's sector
scope both include it (terminology/data/record_sharing.yaml), unless the person chose otherwise for
that kind of organisation: a Consent that shares a part widens the default, one that withholds it
narrows it (even for a GP). Choices are projected from every active Consent of the person into
`SharingChoice` whenever one is written, so a change takes effect on the next request.
The national data opt-out is a Consent too (scope `research`, provision `deny`): it sets the
person's `national_data_opt_out`, which planning and research outputs exclude; direct care is
unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import make_aware

from careweave.governance.models import SharingChoice, SharingConsent
from careweave.governance.permissions import role_of, sees_everyone
from careweave.record import models as rm
from careweave.terminology.models import Code
from careweave.terminology.record_sharing import RecordSharing, load_record_sharing

# FHIR conventions of a sharing choice (docs/fhir-conventions.md): the kind of organisation in
# provision.actor.role, the part of the record in provision.code, who recorded it and how it was
# given in two extensions.
ORGANISATION_KIND_SYSTEM = "https://careweave.example/fhir/CodeSystem/organisation-kind"
RECORD_PART_SYSTEM = "https://careweave.example/fhir/CodeSystem/record-part"
RECORDED_BY_URL = "https://careweave.example/fhir/StructureDefinition/consent-recorded-by"
CONSENT_METHOD_URL = "https://careweave.example/fhir/StructureDefinition/consent-method"
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
NATIONAL_DATA_OPT_OUT_POLICY = "https://digital.nhs.uk/services/national-data-opt-out"
METHODS = ("verbal", "written", "online", "proxy")
PRIVACY, RESEARCH = "patient-privacy", "research"
ACTIVE = "active"


class ConsentError(ValueError):
    """A Consent CareWeave cannot enforce: `path` names the element."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def rules() -> RecordSharing:
    return load_record_sharing()


# -- reading a Consent -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    shared: bool
    kinds: tuple[str, ...]  # empty: every kind of organisation
    parts: tuple[str, ...]  # empty: every part a person may share or withhold


@dataclass(frozen=True)
class ParsedConsent:
    status: str
    scope: str
    given_on: datetime | None
    recorded_by: str
    method: str
    rules: tuple[Rule, ...]


def _codes(concepts: Any, system: str) -> list[str]:
    found = []
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        for coding in (concept or {}).get("coding") or [] if isinstance(concept, dict) else []:
            if isinstance(coding, dict) and coding.get("system") == system and coding.get("code"):
                found.append(str(coding["code"]))
    return found


def _rule(provision: dict[str, Any], path: str, sharing: RecordSharing) -> Rule | None:
    kind = provision.get("type")
    if kind is None:
        return None
    if kind not in ("permit", "deny"):
        raise ConsentError(f"{path}.type", f"'{kind}' is not permit or deny")
    kinds = [
        code
        for actor in provision.get("actor") or []
        for code in _codes(actor.get("role"), ORGANISATION_KIND_SYSTEM)
    ]
    unknown = sorted(set(kinds) - {k.id for k in sharing.kinds})
    if unknown:
        raise ConsentError(f"{path}.actor.role", f"unknown organisation kind(s): {', '.join(unknown)}")
    parts = _codes(provision.get("code") or [], RECORD_PART_SYSTEM)
    unknown = sorted(set(parts) - sharing.consentable)
    if unknown:
        raise ConsentError(
            f"{path}.code", f"not a part of the record a person shares or withholds: {', '.join(unknown)}"
        )
    return Rule(kind == "permit", tuple(kinds), tuple(parts))


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value[:10])
        moment = datetime(day.year, day.month, day.day) if day else None
    if moment is not None and moment.tzinfo is None:
        moment = make_aware(moment)
    return moment


def parse(body: dict[str, Any]) -> ParsedConsent:
    """The choices a Consent makes (base provision first, nested ones after, each overriding the
    last), or ConsentError naming the element CareWeave cannot enforce."""
    sharing = rules()
    scopes = _codes(body.get("scope"), CONSENT_SCOPE_SYSTEM)
    scope = scopes[0] if scopes else ""
    if scope not in (PRIVACY, RESEARCH):
        raise ConsentError(
            "Consent.scope", f"expected {PRIVACY} (sharing choices) or {RESEARCH} (national data opt-out)"
        )
    provision = body.get("provision") or {}
    if not isinstance(provision, dict):
        raise ConsentError("Consent.provision", "expected an object")
    found = [_rule(provision, "Consent.provision", sharing)]
    for i, nested in enumerate(provision.get("provision") or []):
        if isinstance(nested, dict):
            found.append(_rule(nested, f"Consent.provision.provision[{i}]", sharing))
    extensions = [e for e in body.get("extension") or [] if isinstance(e, dict)]
    recorded = next(
        (e.get("valueReference") or {} for e in extensions if e.get("url") == RECORDED_BY_URL), {}
    )
    method = next(
        (str(e.get("valueCode") or "") for e in extensions if e.get("url") == CONSENT_METHOD_URL), ""
    )
    if method and method not in METHODS:
        raise ConsentError(
            "Consent.extension(consent-method)", f"'{method}' is not one of {', '.join(METHODS)}"
        )
    return ParsedConsent(
        status=str(body.get("status") or ""),
        scope=scope,
        given_on=_when(body.get("dateTime")),
        recorded_by=str(recorded.get("display") or recorded.get("reference") or "")[:255],
        method=method,
        rules=tuple(r for r in found if r is not None),
    )


# -- projecting Consents into choices --------------------------------------------------------------
def project(*, stored: rm.StoredResource, person_pk: int, body: dict[str, Any]) -> None:
    """Keep a Consent's projection and the person's net choices in step (the importer's projector)."""
    parsed = parse(body)
    SharingConsent.objects.update_or_create(
        resource=stored,
        defaults={
            "person_id": person_pk,
            "status": parsed.status[:32],
            "scope": parsed.scope,
            "given_on": parsed.given_on,
            "recorded_by": parsed.recorded_by,
            "method": parsed.method,
            "opts_out": parsed.scope == RESEARCH and any(not r.shared for r in parsed.rules),
        },
    )
    recompute(person_pk)


def recompute(person_pk: int) -> None:
    """The person's choices from all their active Consents, later ones overriding earlier ones."""
    sharing = rules()
    consents = list(
        SharingConsent.objects.filter(person_id=person_pk, status=ACTIVE)
        .select_related("resource")
        .order_by("pk")
    )
    consents.sort(key=lambda c: ((c.given_on.timestamp() if c.given_on else 0.0), c.pk))
    choices: dict[tuple[str, str], bool] = {}
    opted_out: bool | None = None
    for consent in consents:
        parsed = parse(orjson.loads(consent.resource.body))
        if consent.scope == RESEARCH:
            opted_out = any(not r.shared for r in parsed.rules)
            continue
        for rule in parsed.rules:
            for kind in rule.kinds or tuple(k.id for k in sharing.kinds):
                for part in rule.parts or tuple(sorted(sharing.consentable)):
                    choices[(kind, part)] = rule.shared
    with transaction.atomic():
        SharingChoice.objects.filter(person_id=person_pk).delete()
        SharingChoice.objects.bulk_create(
            SharingChoice(person_id=person_pk, organisation_kind=kind, part=part, shared=shared)
            for (kind, part), shared in sorted(choices.items())
        )
        if opted_out is not None:
            rm.Person.objects.filter(pk=person_pk).update(national_data_opt_out=opted_out)


def opt_out_of(person_pk: int | None) -> bool | None:
    """The national data opt-out the person's latest active Consent records (None: no such Consent)."""
    if person_pk is None:
        return None
    latest = (
        SharingConsent.objects.filter(person_id=person_pk, scope=RESEARCH, status=ACTIVE)
        .order_by("-given_on", "-pk")
        .first()
    )
    return latest.opts_out if latest is not None else None


# -- what a user sees ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordView:
    """The parts of one person's record a user sees, and on what basis."""

    parts: frozenset[str]
    organisation_kind: str | None = None
    own_care_plan_actions_only: bool = False

    def shows(self, part: str) -> bool:
        return part in self.parts

    def withheld(self) -> list[str]:
        return sorted(rules().part_ids - self.parts)

    def shows_code(self, resource_type: str, code: str) -> bool:
        """A record row by its code alone (SNOMED ids are unique whatever the system string)."""
        return self.shows(part_of_code(resource_type, code))


def full_view() -> RecordView:
    return RecordView(parts=rules().part_ids)


def organisation_kind(user: Any) -> str | None:
    profile = getattr(user, "staff_profile", None)
    organisation = getattr(profile, "organisation", None) if profile is not None else None
    return rules().kind_of_sector(organisation.sector) if organisation is not None else None


def default_parts(user: Any) -> tuple[frozenset[str], str | None, bool]:
    """The parts a user sees without the person's agreement: their role's scope within their sector's."""
    sharing = rules()
    role = sharing.roles.get(role_of(user) or "")
    parts = role.parts if role is not None else frozenset({"identity"})
    kind = organisation_kind(user)
    for sector in sharing.sectors:
        if kind in sector.kinds:
            parts = parts & sector.parts
    return parts, kind, bool(role and role.own_care_plan_actions_only)


def view_for(user: Any, person: rm.Person, *, break_glass: bool = False) -> RecordView:
    """What this user sees of this person's record now (the person's latest choices included).
    Integration clients act for the systems that feed the record and see all of it. Under break-glass
    a person's refusal does not hold back emergency care (their role's scope still does)."""
    if sees_everyone(user):
        return full_view()
    parts, kind, own_only = default_parts(user)
    if kind is not None:
        for part, shared in SharingChoice.objects.filter(person=person, organisation_kind=kind).values_list(
            "part", "shared"
        ):
            if shared:
                parts = parts | {part}
            elif not break_glass:
                parts = parts - {part}
    return RecordView(parts=frozenset(parts), organisation_kind=kind, own_care_plan_actions_only=own_only)


# -- which part a resource or row belongs to -------------------------------------------------------
def part_of_code(resource_type: str, code: str) -> str:
    sharing = rules()
    if code and resource_type not in ("Patient", "RelatedPerson", "Consent"):
        for part, listed in sharing.sensitive.items():
            if any(c == code for _, c in listed):
                return part
    return sharing.part_of_type(resource_type)


def codes_in(body: dict[str, Any]) -> frozenset[Code]:
    """Every coding anywhere in a resource (its code, reason, category...): a sensitive code anywhere
    puts it in the sensitive part."""
    found: set[Code] = set()
    stack: list[Any] = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "code" in item and isinstance(item.get("code"), str) and "system" in item:
                found.add((str(item.get("system")), item["code"]))
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(item)
    return frozenset(found)


def part_of_resource(resource_type: str, body: dict[str, Any]) -> str:
    sharing = rules()
    codes = codes_in(body)
    if resource_type not in ("Patient", "RelatedPerson", "Consent"):
        plain = {c for _, c in codes}
        for part, listed in sharing.sensitive.items():
            if plain & {c for _, c in listed}:
                return part
    return sharing.part_of_type(resource_type)


def _sensitive_plain() -> dict[str, list[str]]:
    return {part: sorted({c for _, c in listed}) for part, listed in rules().sensitive.items()}


def _people_who(kind: str | None, part: str, *, shared: bool) -> Q:
    if kind is None:
        return Q(pk__in=[])
    return Q(
        person_id__in=SharingChoice.objects.filter(organisation_kind=kind, part=part, shared=shared).values(
            "person_id"
        )
    )


def person_shows(user: Any, part: str, *, break_glass_people: Q | None = None) -> Q:
    """A filter on `person_id` for the people whose `part` this user sees."""
    if sees_everyone(user):
        return Q()
    parts, kind, _ = default_parts(user)
    if part in parts:
        return ~_people_who(kind, part, shared=False)
    return _people_who(kind, part, shared=True)


def rows_shown(user: Any, resource_type: str, code_column: str | None) -> Q:
    """A filter on a type's record rows (with `person_id` and, if given, a code column) for the rows
    this user sees: each row's part by its type and code, and the person's choices for that part."""
    if sees_everyone(user):
        return Q()
    type_part = rules().part_of_type(resource_type)
    if code_column is None:
        return person_shows(user, type_part)
    sensitive = _sensitive_plain()
    query = Q()
    plain = Q()
    for part, codes in sensitive.items():
        in_part = Q(**{f"{code_column}__in": codes})
        query |= in_part & person_shows(user, part)
        plain &= ~in_part
    return query | (plain & person_shows(user, type_part))


def consent_resource(
    *,
    patient_id: str,
    shared: bool,
    kinds: tuple[str, ...] = (),
    parts: tuple[str, ...] = (),
    method: str,
    recorded_by: str,
    when: str,
    opt_out: bool = False,
) -> dict[str, Any]:
    """A Consent as CareWeave writes one: a sharing choice (share or withhold `parts`, all when
    empty, with `kinds`, every kind when empty) or, with `opt_out`, the national data opt-out
    (`shared` False: opted out; True: the opt-out withdrawn)."""
    provision: dict[str, Any] = {"type": "permit" if shared else "deny"}
    if kinds:
        provision["actor"] = [
            {
                "role": {"coding": [{"system": ORGANISATION_KIND_SYSTEM, "code": k}]},
                "reference": {"display": k},
            }
            for k in kinds
        ]
    if parts:
        provision["code"] = [{"coding": [{"system": RECORD_PART_SYSTEM, "code": p}]} for p in parts]
    scope = RESEARCH if opt_out else PRIVACY
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "status": ACTIVE,
        "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": scope}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "performer": [{"reference": f"Patient/{patient_id}"}],
        "dateTime": when,
        "extension": [
            {"url": RECORDED_BY_URL, "valueReference": {"display": recorded_by}},
            {"url": CONSENT_METHOD_URL, "valueCode": method},
        ],
        "provision": provision,
    }
    if opt_out:
        resource["policy"] = [{"uri": NATIONAL_DATA_OPT_OUT_POLICY}]
    else:
        resource["policyRule"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "OPTIN" if shared else "OPTOUT",
                }
            ]
        }
    return resource
