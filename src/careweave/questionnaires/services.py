"""Loading Questionnaires, taking answers, and what is due: the functions other code calls.

- `accept_questionnaire(body, where=, loaded_by=)`: a Questionnaire an organisation loads (refused
  without a licence or a source; see `definitions`).
- `submit_response(user=, response=, mode=)`: a QuestionnaireResponse validated against its
  Questionnaire (all or nothing: `Refused` with an OperationOutcome naming each item), scored, and
  written into the record with one coded Observation per extracted item and score (`derivedFrom` the
  response), through the importer as any sender's write, decided and audited through
  `governance.access.open_record`.
- `questionnaires_due(person)`: the current Questionnaires the person has not answered within each
  one's interval (for the person's view and the staff page).
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Final

import orjson
from django.db import transaction
from django.utils import timezone

from careweave.fhir.importer import ApiWriter, Entry, Importer, Verdict, staff_writer
from careweave.fhir.outcome import Issue, Refused
from careweave.governance.access import (
    Permission,
    decide_own,
    open_record,
    writing_organisation,
)
from careweave.governance.permissions import require
from careweave.questionnaires import catalogue
from careweave.questionnaires.definitions import Definition, DefinitionError, parse_questionnaire
from careweave.questionnaires.models import LoadedQuestionnaire, ResponseRecord
from careweave.questionnaires.validation import answered_items, scores, validate_response
from careweave.record import models as rm

MODES: Final = {
    "api": "Sent by another system",
    "online": "Answered by the person online",
    "phone": "Completed with the person on the phone",
    "paper": "Entered from a paper form",
    "in-person": "Completed with the person face to face",
}
MODE_URL: Final = "https://fhir.careweave.org/StructureDefinition/questionnaire-response-mode"
SURVEY: Final = {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}
SOURCE_PREFIX: Final = "urn:careweave:questionnaires:"  # + the user's username


def accept_questionnaire(body: Any, *, where: str, loaded_by: str) -> Definition:
    """Store a Questionnaire (replacing the same url and version); `DefinitionError` if refused."""
    definition = parse_questionnaire(body, where=where)
    if any(d.url == definition.url and d.version == definition.version for d in catalogue.shipped()):
        raise DefinitionError(where, "Questionnaire.url", "this url and version is one CareWeave ships")
    with transaction.atomic():
        clash = LoadedQuestionnaire.objects.filter(logical_id=definition.logical_id).exclude(
            url=definition.url, version=definition.version
        )
        logical_id = definition.logical_id if not clash.exists() else f"q-{uuid.uuid4().hex[:12]}"
        LoadedQuestionnaire.objects.update_or_create(
            url=definition.url,
            version=definition.version,
            defaults={
                "logical_id": logical_id,
                "title": definition.title[:512],
                "status": definition.status,
                "licence": definition.licence[:512],
                "source": definition.source[:1024],
                "validated": definition.validated,
                "body": orjson.dumps({**definition.body, "id": logical_id}).decode(),
                "loaded_by": loaded_by[:255],
            },
        )
    return catalogue.by_canonical(definition.canonical) or definition


@dataclass(frozen=True)
class Submitted:
    response_id: str
    observation_ids: tuple[str, ...]
    scores: dict[str, float]


def _refused(code: str, message: str, expression: str) -> Refused:
    return Refused([Issue("error", code, message, expression=expression)])


def _person(response: dict[str, Any], user: Any) -> rm.Person:
    reference = (
        (response.get("subject") or {}).get("reference")
        if isinstance(response.get("subject"), dict)
        else None
    )
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        raise _refused(
            "required", "subject must reference the Patient it is about", "QuestionnaireResponse.subject"
        )
    logical_id = reference.removeprefix("Patient/")
    person = (
        rm.Person.objects.filter(resource__resource_type="Patient", resource__logical_id=logical_id)
        .select_related("resource")
        .first()
    )
    if person is None:
        require(user, Permission.WRITE_RECORDS, "this role cannot write to the record")
        raise _refused(
            "not-found", f"{reference} is not known, or is not in your care", "QuestionnaireResponse.subject"
        )
    return person


def _own(user: Any) -> bool:
    """A person-facing account (the person's own, or a carer's: ADR 0019), not a member of staff's."""
    return getattr(user, "person_account", None) is not None and getattr(user, "staff_profile", None) is None


def _writer(user: Any) -> ApiWriter:
    """Staff write as from the workspace; the person's view writes only to their own record (or, for
    a carer, the record of the person who shared their plan)."""
    if not _own(user):
        return staff_writer(user)

    def allow(entry: Entry, person_pk: int | None) -> Verdict:
        found = rm.Person.objects.filter(pk=person_pk).first() if person_pk is not None else None
        own = decide_own(user, found, "plan") if found is not None else None
        return Verdict(own is not None and own.allowed, reason=own.reason if own else "not yours")

    return ApiWriter(organisation_id=writing_organisation(user), allow=allow)


def _observation(
    definition: Definition,
    code: dict[str, str],
    value: dict[str, Any],
    subject: str,
    when: str,
    response_url: str,
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [SURVEY]}],
        "code": {"coding": [code], "text": code.get("display") or code["code"]},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "derivedFrom": [{"reference": response_url}],
        "note": [
            {
                "text": f"From {definition.title}"
                + ("" if definition.validated else " (not a validated instrument)")
            }
        ],
        **value,
    }


def _observations(
    definition: Definition,
    response: dict[str, Any],
    computed: dict[str, float],
    subject: str,
    when: str,
    url: str,
) -> list[dict[str, Any]]:
    out = []
    for answered in answered_items(definition, response):
        item = answered.item
        if not item.extract or item.code is None:
            continue
        if answered.value_key == "valueCoding":
            option = item.option(answered.value)
            coding = (
                {
                    k: v
                    for k, v in (
                        ("system", option.system),
                        ("code", option.code),
                        ("display", option.display),
                    )
                    if v
                }
                if option
                else answered.value
            )
            value: dict[str, Any] = {
                "valueCodeableConcept": {"coding": [coding], "text": coding.get("display", "")}
            }
        elif answered.value_key == "valueDecimal":
            value = {"valueQuantity": {"value": answered.value}}
        else:
            value = {answered.value_key: answered.value}
        out.append(_observation(definition, item.code, value, subject, when, url))
    for link_id, total in computed.items():
        scored = definition.item(link_id)
        if scored is not None and scored.code is not None and scored.extract:
            number: dict[str, Any] = (
                {"valueInteger": int(total)}
                if scored.type == "integer"
                else {"valueQuantity": {"value": total}}
            )
            out.append(_observation(definition, scored.code, number, subject, when, url))
    return out


def _is_score(definition: Definition, link_id: Any) -> bool:
    item = definition.item(link_id) if isinstance(link_id, str) else None
    return item is not None and item.sums is not None


def _with_scores(
    response: dict[str, Any], definition: Definition, computed: dict[str, float], mode: str
) -> dict[str, Any]:
    body = copy.deepcopy(response)
    body.pop("id", None)
    body["questionnaire"] = definition.canonical
    items = [i for i in body.get("item") or [] if not _is_score(definition, i.get("linkId", ""))]
    for link_id, total in computed.items():
        item = definition.item(link_id)
        value = (
            {"valueInteger": int(total)}
            if item is not None and item.type == "integer"
            else {"valueDecimal": total}
        )
        items.append({"linkId": link_id, "text": item.text if item else link_id, "answer": [value]})
    body["item"] = items
    body["extension"] = [e for e in body.get("extension") or [] if e.get("url") != MODE_URL] + [
        {"url": MODE_URL, "valueCode": mode}
    ]
    return body


def submit_response(
    *,
    user: Any,
    response: Any,
    mode: str = "api",
    channel: str = "api",
    purpose: str = "direct-care",
    break_glass_reason: str | None = None,
) -> Submitted:
    """Validate, score and store a QuestionnaireResponse with its Observations (see the module)."""
    if not isinstance(response, dict) or response.get("resourceType") != "QuestionnaireResponse":
        raise _refused("structure", "the body must be a FHIR R4 QuestionnaireResponse", "resourceType")
    if mode not in MODES:
        raise _refused("value", f"mode must be one of {', '.join(MODES)}", "mode")
    canonical = response.get("questionnaire")
    definition = catalogue.by_canonical(canonical) if isinstance(canonical, str) else None
    if definition is None:
        raise _refused(
            "not-found",
            f"questionnaire {canonical!r} is not known here (see /fhir/Questionnaire)",
            "QuestionnaireResponse.questionnaire",
        )
    person = _person(response, user)
    opened = open_record(
        user=user,
        person=person,
        action="create",
        purpose=purpose,
        channel=channel,
        resource_type="QuestionnaireResponse",
        break_glass_reason=break_glass_reason,
        # the person's view (mode "online"): the person's own record, or a carer's for them (ADR 0019)
        permission=Permission.OWN_RECORD if _own(user) else Permission.WRITE_RECORDS,
        share="plan" if _own(user) else "",
        audit=False,  # the write is audited once its id is known; a refusal is audited here
    )
    issues = validate_response(definition, response)
    if issues:
        raise Refused(issues)
    computed = scores(definition, response)
    authored = response.get("authored") or timezone.now().isoformat()
    body = _with_scores(response, definition, computed, mode)
    body["authored"] = authored
    subject = f"Patient/{person.resource.logical_id}"
    response_url = f"urn:uuid:{uuid.uuid4()}"
    observations = _observations(definition, body, computed, subject, authored, response_url)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": response_url,
                "resource": body,
                "request": {"method": "POST", "url": "QuestionnaireResponse"},
            },
            *(
                {
                    "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                    "resource": o,
                    "request": {"method": "POST", "url": "Observation"},
                }
                for o in observations
            ),
        ],
    }
    importer = Importer(
        source_system=SOURCE_PREFIX + user.get_username(), strict_references=True, api=_writer(user)
    )
    with transaction.atomic():
        entries = importer.import_bundle(bundle)
        ids = [str(e.logical_id) for e in entries]
        stored = rm.StoredResource.objects.get(resource_type="QuestionnaireResponse", logical_id=ids[0])
        first_score = next(iter(computed.values()), None)
        ResponseRecord.objects.create(
            resource=stored,
            person=person,
            questionnaire_url=definition.url,
            questionnaire_version=definition.version,
            authored=_when(authored),
            score=first_score,
            mode=mode,
        )
        opened.audit(
            action="create",
            resource_type="QuestionnaireResponse",
            resource_id=ids[0],
            reason=f"{definition.title}: {MODES[mode].lower()}, {len(ids) - 1} Observations",
            purpose=purpose,
            channel=channel,
        )
    return Submitted(response_id=ids[0], observation_ids=tuple(ids[1:]), scores=computed)


def _when(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = dt.datetime.combine(dt.date.fromisoformat(value[:10]), dt.time())
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


@dataclass(frozen=True)
class Due:
    url: str
    logical_id: str
    title: str
    validated: bool
    last_answered: dt.date | None
    due_since: dt.date


def questionnaires_due(person: rm.Person, *, today: dt.date | None = None) -> list[Due]:
    """The current Questionnaires `person` has not answered within each one's interval, oldest due
    first. The caller has already opened the person's record (no access decision here)."""
    today = today or timezone.localdate()
    last: dict[str, dt.datetime] = {}
    for url, authored in ResponseRecord.objects.filter(person=person).values_list(
        "questionnaire_url", "authored"
    ):
        if url not in last or authored > last[url]:
            last[url] = authored
    due = []
    for definition in catalogue.current():
        answered = last.get(definition.url)
        answered_on = timezone.localtime(answered).date() if answered is not None else None
        next_due = answered_on + dt.timedelta(days=definition.interval_days) if answered_on else today
        if next_due <= today:
            due.append(
                Due(
                    definition.url,
                    definition.logical_id,
                    definition.title,
                    definition.validated,
                    answered_on,
                    next_due,
                )
            )
    return sorted(due, key=lambda d: (d.due_since, d.title))
