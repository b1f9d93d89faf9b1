"""Referral tracking as reviewed data: the business states of a referral's Task, the transitions
allowed between them, and the thresholds of the four findings (loop, lost, no-outcome,
validation-due), each with its citation.

Read from ``data/referral_rules.yaml`` with the shared schema checks (:class:`Document`). Django-free:
the FHIR interface checks transitions with :meth:`ReferralRules.transition_error`, and
``careweave.population.referrals`` runs the findings.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ._schema import Document

REFERRAL_RULES_FILE: Final = Path(__file__).resolve().parent / "data" / "referral_rules.yaml"
SCHEMA: Final = "careweave.terminology.referral_rules/1"
FINDINGS: Final = ("loop", "lost", "did_not_attend", "no_outcome", "validation")
#: the scan's rules (each finding has one or more), each with a next step in the file
RULES: Final = ("reason", "ping-pong", "unbooked", "unacknowledged", "did-not-attend", "no-letter", "milestone")


@dataclass(frozen=True)
class PublishedWait:
    """A service's own published waiting time (by ODS code), which replaces the 18-week default."""

    ods_code: str
    wait_days: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class WorklistRanking:
    """How the co-ordinator's referrals worklist ranks findings by harm (points, summed)."""

    finding_points: Mapping[str, int]
    points_per_week_beyond: int
    max_week_points: int
    frailty_points: Mapping[str, int]
    points_per_unplanned_contact: int
    max_unplanned_points: int
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReferralRules:
    states: tuple[str, ...]
    open_states: tuple[str, ...]
    transitions: Mapping[str, tuple[str, ...]]
    rejection_reason_system: str
    rejection_reasons: Mapping[str, str]  # code -> display
    validation_system: str
    validation_code: str
    # loop
    loop_window_days: int
    loop_earlier_states: tuple[str, ...]
    ping_pong_legs: int
    # lost
    waiting_states: tuple[str, ...]
    unacknowledged_states: tuple[str, ...]
    unacknowledged_days: int
    default_wait_days: int
    booked_statuses: tuple[str, ...]
    dna_statuses: tuple[str, ...]
    rebook_days: int
    # no-outcome
    letter_days: int
    # validation-due
    milestone_days: tuple[int, ...]
    validation_grace_days: int
    validation_states: tuple[str, ...]
    published_waits: tuple[PublishedWait, ...]
    chase_system: str
    chase_code: str
    ranking: WorklistRanking
    #: per finding rule (reason, ping-pong, unbooked ...): what the co-ordinator should do next
    next_steps: Mapping[str, str]
    #: per finding (loop, lost, did_not_attend, no_outcome, validation) and "transitions": citations
    sources: Mapping[str, tuple[str, ...]]
    version: str = ""

    def transition_error(self, current: str | None, proposed: str) -> str | None:
        """Why ``current`` may not become ``proposed`` (None when it may). No current state: any
        known state may start a Task's history (a sender may tell us only its latest state)."""
        if proposed not in self.states:
            return (
                f"'{proposed}' is not a referral business status (expected one of {', '.join(self.states)})"
            )
        if current is None or current == proposed or current not in self.transitions:
            return None
        allowed = self.transitions[current]
        if proposed in allowed:
            return None
        onward = f"only to {', '.join(allowed)}" if allowed else "to nothing: it is final"
        return f"a referral that is {current} cannot become {proposed} ({current} moves {onward})"


def _known(doc: Document, values: tuple[str, ...], known: tuple[str, ...], path: str) -> tuple[str, ...]:
    for value in values:
        if value not in known:
            raise doc.error(path, f"{value!r} is not one of the states {', '.join(known)}")
    return values


def _block(doc: Document, findings: dict[str, Any], name: str, required: tuple[str, ...]) -> dict[str, Any]:
    block = doc.mapping(findings.get(name), f"findings.{name}")
    doc.keys(block, f"findings.{name}", (*required, "sources"))
    return block


def _published_waits(doc: Document) -> tuple[PublishedWait, ...]:
    raw = doc.root.get("published_waits") or []
    if not isinstance(raw, list):
        raise doc.error("published_waits", "expected a list")
    waits = []
    for index, item in enumerate(raw):
        path = f"published_waits[{index}]"
        entry = doc.mapping(item, path)
        doc.keys(entry, path, ("ods_code", "wait_days", "sources"))
        waits.append(
            PublishedWait(
                doc.string(entry, "ods_code", path),
                doc.integer(entry, "wait_days", path, minimum=1),
                doc.sources(entry, path),
            )
        )
    return tuple(waits)


def _points(doc: Document, block: dict[str, Any], key: str, path: str) -> dict[str, int]:
    raw = doc.mapping(block.get(key), f"{path}.{key}")
    return {str(name): doc.integer(raw, name, f"{path}.{key}") for name in raw}


def _ranking(doc: Document) -> WorklistRanking:
    path = "worklist_ranking"
    block = doc.mapping(doc.root["worklist_ranking"], path)
    names = ("points_per_week_beyond", "max_week_points", "points_per_unplanned_contact", "max_unplanned_points")
    doc.keys(block, path, ("finding_points", "frailty_points", *names, "sources"))
    findings = _points(doc, block, "finding_points", path)
    expected = {"loop", "lost", "no-outcome", "validation-due"}
    if set(findings) != expected:
        raise doc.error(f"{path}.finding_points", f"expected points for each of {', '.join(sorted(expected))}")
    return WorklistRanking(
        finding_points=findings,
        frailty_points=_points(doc, block, "frailty_points", path),
        points_per_week_beyond=doc.integer(block, "points_per_week_beyond", path),
        max_week_points=doc.integer(block, "max_week_points", path),
        points_per_unplanned_contact=doc.integer(block, "points_per_unplanned_contact", path),
        max_unplanned_points=doc.integer(block, "max_unplanned_points", path),
        sources=doc.sources(block, path),
    )


def _next_steps(doc: Document) -> dict[str, str]:
    block = doc.mapping(doc.root["next_steps"], "next_steps")
    steps = {}
    for rule, item in block.items():
        path = f"next_steps.{rule}"
        entry = doc.mapping(item, path)
        doc.keys(entry, path, ("text", "sources"))
        steps[str(rule)] = doc.string(entry, "text", path)
    missing = [r for r in RULES if r not in steps]
    if missing:
        raise doc.error("next_steps", f"no next step for {', '.join(missing)}")
    return steps


@functools.lru_cache(maxsize=4)
def _load(file: Path) -> ReferralRules:
    doc = Document(file, SCHEMA)
    doc.check_root_keys(
        ("states", "transitions", "rejection_reasons", "validation_task", "findings", "chase_task",
         "worklist_ranking", "next_steps"),
        ("published_waits",),
    )
    states_block = doc.mapping(doc.root["states"], "states")
    doc.keys(states_block, "states", ("codes", "open", "sources"))
    states = doc.string_list(states_block, "codes", "states", allow_empty=False)
    open_states = _known(doc, doc.string_list(states_block, "open", "states"), states, "states.open")

    transitions: dict[str, tuple[str, ...]] = {}
    for path, entry in doc.records("transitions", ("from", "to", "sources")):
        source = doc.string(entry, "from", path)
        _known(doc, (source,), states, f"{path}.from")
        if source in transitions:
            raise doc.error(f"{path}.from", f"{source!r} is listed twice")
        transitions[source] = _known(doc, doc.string_list(entry, "to", path), states, f"{path}.to")
        doc.sources(entry, path)
    missing = [s for s in states if s not in transitions]
    if missing:
        raise doc.error("transitions", f"no transitions listed from {', '.join(missing)}")

    reasons_block = doc.mapping(doc.root["rejection_reasons"], "rejection_reasons")
    doc.keys(reasons_block, "rejection_reasons", ("system", "codes", "sources"))
    reasons: dict[str, str] = {}
    for index, item in enumerate(reasons_block.get("codes") or []):
        path = f"rejection_reasons.codes[{index}]"
        entry = doc.mapping(item, path)
        doc.keys(entry, path, ("code", "display"))
        reasons[doc.string(entry, "code", path)] = doc.string(entry, "display", path)
    validation_task = doc.mapping(doc.root["validation_task"], "validation_task")
    doc.keys(validation_task, "validation_task", ("system", "code", "sources"))
    chase_task = doc.mapping(doc.root["chase_task"], "chase_task")
    doc.keys(chase_task, "chase_task", ("system", "code", "sources"))

    findings = doc.mapping(doc.root["findings"], "findings")
    doc.keys(findings, "findings", FINDINGS)
    loop = _block(doc, findings, "loop", ("window_days", "earlier_states", "ping_pong_legs"))
    lost = _block(
        doc,
        findings,
        "lost",
        (
            "waiting_states",
            "unacknowledged_states",
            "unacknowledged_days",
            "default_wait_days",
            "booked_statuses",
        ),
    )
    dna = _block(doc, findings, "did_not_attend", ("dna_statuses", "rebook_days"))
    outcome = _block(doc, findings, "no_outcome", ("letter_days",))
    validation = _block(doc, findings, "validation", ("milestone_days", "grace_days", "states"))
    milestones = validation.get("milestone_days")
    if (
        not isinstance(milestones, list)
        or not milestones
        or not all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in milestones)
    ):
        raise doc.error("findings.validation.milestone_days", "expected a list of positive whole days")
    if sorted(set(milestones)) != milestones:
        raise doc.error("findings.validation.milestone_days", "expected distinct days in ascending order")
    ping_pong_legs = doc.integer(loop, "ping_pong_legs", "findings.loop", minimum=3)
    if ping_pong_legs != 3:
        raise doc.error("findings.loop.ping_pong_legs", "only 3 legs (A -> B -> A -> B) is supported")

    sources = {name: doc.sources(findings[name], f"findings.{name}") for name in FINDINGS}
    sources["states"] = doc.sources(states_block, "states")
    return ReferralRules(
        states=states,
        open_states=open_states,
        transitions=transitions,
        rejection_reason_system=doc.string(reasons_block, "system", "rejection_reasons"),
        rejection_reasons=reasons,
        validation_system=doc.string(validation_task, "system", "validation_task"),
        validation_code=doc.string(validation_task, "code", "validation_task"),
        loop_window_days=doc.integer(loop, "window_days", "findings.loop", minimum=1),
        loop_earlier_states=_known(
            doc,
            doc.string_list(loop, "earlier_states", "findings.loop", allow_empty=False),
            states,
            "findings.loop",
        ),
        ping_pong_legs=ping_pong_legs,
        waiting_states=_known(
            doc, doc.string_list(lost, "waiting_states", "findings.lost"), states, "findings.lost"
        ),
        unacknowledged_states=_known(
            doc, doc.string_list(lost, "unacknowledged_states", "findings.lost"), states, "findings.lost"
        ),
        unacknowledged_days=doc.integer(lost, "unacknowledged_days", "findings.lost", minimum=1),
        default_wait_days=doc.integer(lost, "default_wait_days", "findings.lost", minimum=1),
        booked_statuses=doc.string_list(lost, "booked_statuses", "findings.lost", allow_empty=False),
        dna_statuses=doc.string_list(dna, "dna_statuses", "findings.did_not_attend", allow_empty=False),
        rebook_days=doc.integer(dna, "rebook_days", "findings.did_not_attend", minimum=1),
        letter_days=doc.integer(outcome, "letter_days", "findings.no_outcome", minimum=1),
        milestone_days=tuple(milestones),
        validation_grace_days=doc.integer(validation, "grace_days", "findings.validation"),
        validation_states=_known(
            doc, doc.string_list(validation, "states", "findings.validation"), states, "findings.validation"
        ),
        published_waits=_published_waits(doc),
        chase_system=doc.string(chase_task, "system", "chase_task"),
        chase_code=doc.string(chase_task, "code", "chase_task"),
        ranking=_ranking(doc),
        next_steps=_next_steps(doc),
        sources=sources,
        version=doc.version,
    )


def load_referral_rules(file: Path | str | None = None) -> ReferralRules:
    """The reviewed referral rules (cached per file)."""
    return _load(Path(file) if file is not None else REFERRAL_RULES_FILE)
