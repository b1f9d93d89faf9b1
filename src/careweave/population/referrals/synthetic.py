"""A synthetic referral extract for the parity tests and the benchmark: about three referrals a person
with every state, appointments kept, missed and cancelled, letters by either link, validations, and
referrals back from services to practices (so ping-pongs happen). Vectorised (numpy and Arrow), so a
million people take seconds. Not a model of real referral journeys (synth/ owns those)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .extract import SCHEMAS, ReferralExtract, day_number

STATES = ("requested", "received", "accepted", "rejected", "in-progress", "completed", "cancelled")
_STATE_P = (0.08, 0.05, 0.22, 0.12, 0.15, 0.33, 0.05)
APPOINTMENT_STATUSES = ("booked", "fulfilled", "noshow", "cancelled")
_APPOINTMENT_P = (0.35, 0.4, 0.15, 0.1)
REASONS = tuple(
    str(code) for code in (30989003, 239873007, 22298006, 195967001, 13645005, 73211009, 38341003, 35489007)
)
REJECTION_REASONS = (
    "does-not-meet-criteria",
    "refer-elsewhere",
    "insufficient-information",
    "returned-to-referrer",
)


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(prefix), pc.cast(pa.array(numbers), pa.string()), "")


def _pick(
    rng: np.random.Generator, values: tuple[str, ...], size: int, p: tuple[float, ...] | None = None
) -> pa.Array:
    dictionary = pa.array(values, pa.string())
    return pc.take(dictionary, pa.array(rng.choice(len(values), size=size, p=p)))


def _day(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int32), pa.int32())


def generate(
    people: int, as_of: dt.date, *, seed: int = 0, practices: int = 200, services: int = 60
) -> ReferralExtract:
    rng = np.random.default_rng(seed)
    today = day_number(as_of)
    assert today is not None
    per_person = rng.poisson(2.0, people) + 1
    person = np.repeat(np.arange(1, people + 1, dtype=np.int64), per_person)
    n = len(person)
    authored = today - rng.integers(0, 730, n)
    practice = rng.integers(0, practices, people)[person - 1]
    service = rng.integers(0, services, n)
    # a few services per person recur, so referrals bounce between the same two
    service = np.where(rng.random(n) < 0.7, rng.integers(0, 2, n) + (person % services), service) % services
    back = rng.random(n) < 0.25  # the service refers back to the practice
    gp = _ids("GP", practice)
    svc = _ids("SVC", service)
    mask = pa.array(back)
    referral = pa.table(
        {
            "referral_id": _ids("sr-", np.arange(n)),
            "person_id": pa.array(person),
            "nhs_number": pc.cast(pa.array(person + 9_000_000_000), pa.string()),
            "authored_day": _day(authored),
            "status": _pick(rng, ("active", "active", "active", "completed", "revoked"), n),
            "reason_code": _pick(rng, REASONS, n),
            "from_service": pc.if_else(mask, svc, gp),
            "to_service": pc.if_else(mask, gp, svc),
        },
        schema=SCHEMAS["referral"],
    )
    has_task = rng.random(n) < 0.9
    state_index = rng.choice(len(STATES), size=n, p=_STATE_P)
    modified = np.minimum(authored + rng.integers(0, 120, n), today)
    state = pc.take(pa.array(STATES), pa.array(state_index))
    rejected = pa.array(state_index == STATES.index("rejected"))
    task = pa.table(
        {
            "referral_id": referral["referral_id"].combine_chunks(),
            "business_status": state,
            "status_reason": pc.if_else(rejected, _pick(rng, REJECTION_REASONS, n), pa.nulls(n, pa.string())),
            "modified_day": _day(modified),
        },
        schema=SCHEMAS["task"],
    ).filter(pa.array(has_task))
    booked = rng.random(n) < 0.6
    start = authored + rng.integers(7, 240, n)
    created = np.minimum(authored + rng.integers(1, 60, n), start)
    appointment = pa.table(
        {
            "referral_id": referral["referral_id"].combine_chunks(),
            "status": _pick(rng, APPOINTMENT_STATUSES, n, _APPOINTMENT_P),
            "start_day": _day(start),
            "created_day": pa.array(np.where(rng.random(n) < 0.1, -1, created).astype(np.int32)),
        },
    )
    appointment = appointment.set_column(
        3,
        "created_day",
        pc.if_else(
            pc.equal(appointment["created_day"], -1), pa.nulls(n, pa.int32()), appointment["created_day"]
        ),
    ).filter(pa.array(booked))
    appointment = appointment.cast(SCHEMAS["appointment"])
    completed = (state_index == STATES.index("completed")) & has_task & (rng.random(n) < 0.85)
    by_context = rng.random(n) < 0.5
    letter_ref = _ids("DocumentReference/letter-", np.arange(n))
    letter = pa.table(
        {
            "letter_ref": letter_ref,
            "related_referral_id": pc.if_else(
                pa.array(by_context), referral["referral_id"].combine_chunks(), pa.nulls(n, pa.string())
            ),
            "letter_day": _day(modified + rng.integers(0, 50, n)),
        },
        schema=SCHEMAS["letter"],
    ).filter(pa.array(completed))
    task_output = pa.table(
        {"referral_id": referral["referral_id"].combine_chunks(), "letter_ref": letter_ref},
        schema=SCHEMAS["task_output"],
    ).filter(pa.array(completed & ~by_context))
    validated = rng.random(n) < 0.3
    validation = pa.table(
        {
            "referral_id": referral["referral_id"].combine_chunks(),
            "validated_day": _day(np.minimum(authored + rng.integers(60, 400, n), today)),
        },
        schema=SCHEMAS["validation"],
    ).filter(pa.array(validated))
    reason_is_a = pa.table(
        {"descendant": pa.array([REASONS[1], REASONS[5]]), "ancestor": pa.array([REASONS[0], REASONS[4]])},
        schema=SCHEMAS["reason_is_a"],
    )
    return ReferralExtract(
        {
            "referral": referral,
            "task": task,
            "task_output": task_output,
            "validation": validation,
            "appointment": appointment,
            "letter": letter,
            "reason_is_a": reason_is_a,
        }
    )


def write(extract: ReferralExtract, directory: Path) -> ReferralExtract:
    """Write each table as ``<name>.parquet`` and open them again as datasets."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in extract.tables.items():
        arrow = table if isinstance(table, pa.Table) else table.to_table()
        pq.write_table(arrow, directory / f"{name}.parquet", row_group_size=1_000_000)
    return ReferralExtract.open(directory)
