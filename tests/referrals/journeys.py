"""Referral histories as FHIR R4 resources, for the tests: organisations, a patient, ServiceRequests,
their Tasks (each version in order), Appointments, validation Tasks and outcome letters."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

SCT = "http://snomed.info/sct"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
REASON_SYSTEM = "https://fhir.careweave.org/CodeSystem/referral-rejection-reason"
BUSINESS_SYSTEM = "https://fhir.careweave.org/CodeSystem/referral-business-status"
TASK_SYSTEM = "https://fhir.careweave.org/CodeSystem/referral-task"
KNEE_PAIN = "30989003"  # Knee pain


def day(value: dt.date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


def organisation(oid: str, ods: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": oid,
        "name": name,
        "identifier": [{"system": ODS, "value": ods}],
    }


def patient(pid: str, nhs: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": NHS, "value": nhs}],
        "name": [{"family": "Testperson", "given": [pid]}],
        "gender": "female",
        "birthDate": "1950-03-02",
    }


@dataclass
class History:
    """One or more people's referral histories: the resources in write order, Tasks as every version."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    task_versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.resources.append(resource)
        return resource

    def referral(
        self, rid: str, pid: str, sender: str, receiver: str, authored: dt.date | str, reason: str = KNEE_PAIN
    ) -> None:
        self.add(
            {
                "resourceType": "ServiceRequest",
                "id": rid,
                "status": "active",
                "intent": "order",
                "code": {"text": "Referral"},
                "subject": {"reference": f"Patient/{pid}"},
                "authoredOn": day(authored),
                "requester": {"reference": f"Organization/{sender}"},
                "performer": [{"reference": f"Organization/{receiver}"}],
                "reasonCode": [{"coding": [{"system": SCT, "code": reason}]}],
            }
        )

    def task(
        self,
        tid: str,
        rid: str,
        pid: str,
        owner: str,
        *steps: tuple[str, dt.date | str],
        reason: str | None = None,
        outputs: tuple[str, ...] = (),
    ) -> None:
        """A fulfilment Task moving through `steps` (business state, date): each step is a version."""
        versions = []
        for state, when in steps:
            body: dict[str, Any] = {
                "resourceType": "Task",
                "id": tid,
                "status": "completed"
                if state == "completed"
                else "rejected"
                if state == "rejected"
                else "in-progress",
                "businessStatus": {"coding": [{"system": BUSINESS_SYSTEM, "code": state}]},
                "intent": "order",
                "focus": {"reference": f"ServiceRequest/{rid}"},
                "for": {"reference": f"Patient/{pid}"},
                "owner": {"reference": f"Organization/{owner}"},
                "authoredOn": day(steps[0][1]),
                "lastModified": day(when),
            }
            if state == "rejected" and reason:
                body["statusReason"] = {"coding": [{"system": REASON_SYSTEM, "code": reason}]}
            if state == "completed" and outputs:
                body["output"] = [
                    {"type": {"text": "Outcome letter"}, "valueReference": {"reference": ref}}
                    for ref in outputs
                ]
            versions.append(body)
        self.task_versions[tid] = versions
        self.resources.append(versions[-1])

    def validation(self, tid: str, rid: str, pid: str, when: dt.date | str) -> None:
        self.add(
            {
                "resourceType": "Task",
                "id": tid,
                "status": "completed",
                "intent": "order",
                "code": {"coding": [{"system": TASK_SYSTEM, "code": "waiting-list-validation"}]},
                "focus": {"reference": f"ServiceRequest/{rid}"},
                "for": {"reference": f"Patient/{pid}"},
                "authoredOn": day(when),
                "lastModified": day(when),
            }
        )

    def appointment(self, aid: str, rid: str, pid: str, status: str, start: dt.date | str) -> None:
        self.add(
            {
                "resourceType": "Appointment",
                "id": aid,
                "status": status,
                "basedOn": [{"reference": f"ServiceRequest/{rid}"}],
                "start": f"{day(start)}T09:00:00Z",
                "end": f"{day(start)}T09:30:00Z",
                "participant": [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"}],
            }
        )

    def letter(self, did: str, rid: str | None, pid: str, when: dt.date | str) -> None:
        letter: dict[str, Any] = {
            "resourceType": "DocumentReference",
            "id": did,
            "status": "current",
            "type": {
                "coding": [{"system": SCT, "code": "371531000", "display": "Report of clinical encounter"}]
            },
            "subject": {"reference": f"Patient/{pid}"},
            "date": f"{day(when)}T12:00:00Z",
            "content": [{"attachment": {"contentType": "text/plain", "title": "Clinic letter"}}],
        }
        if rid:
            letter["context"] = {"related": [{"reference": f"ServiceRequest/{rid}"}]}
        self.add(letter)

    # -- the three routes ----------------------------------------------------------------------

    def bundle(self) -> dict[str, Any]:
        """One transaction bundle of the latest versions (PUT, so the ids are kept)."""
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": f"{r['resourceType']}/{r['id']}",
                    "resource": copy.deepcopy(r),
                    "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                }
                for r in self.resources
            ],
        }

    def api_writes(self) -> list[dict[str, Any]]:
        """Every resource one at a time, each Task as every version in order."""
        writes: list[dict[str, Any]] = []
        for resource in self.resources:
            if resource["resourceType"] == "Task" and resource["id"] in self.task_versions:
                writes.extend(copy.deepcopy(v) for v in self.task_versions[resource["id"]])
            else:
                writes.append(copy.deepcopy(resource))
        return writes


def base(nhs: str = "9434765919", pid: str = "p1") -> History:
    """A GP practice (A), a hospital service (B) and one patient."""
    history = History()
    history.add(organisation("gp", "Y00001", "Riverside Surgery"))
    history.add(organisation("hosp", "RXX01", "Orthopaedics, General Hospital"))
    history.add(patient(pid, nhs))
    return history


def put(client: Any, token: str, resource: dict[str, Any]) -> Any:
    """PUT one resource through the FHIR API as the integration client `token` belongs to."""
    import json

    return client.put(
        f"/fhir/{resource['resourceType']}/{resource['id']}",
        data=json.dumps(resource),
        content_type="application/fhir+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
