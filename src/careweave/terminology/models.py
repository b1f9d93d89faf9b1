"""Typed, immutable views of the reviewed terminology data files.

The data (code lists, weights, windows, medicine rules, monitoring intervals, worklist rules) lives in
``data/*.yaml``; these classes are what the rest of CareWeave sees after schema validation.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

SNOMED = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"

Code = tuple[str, str]
"""A coded concept as ``(system, code)``, e.g. ``(SNOMED, "38341003")``."""

Requirement = Literal["diagnosis", "medicine", "diagnosis_and_medicine", "diagnosis_or_medicine"]
Operator = Literal[">=", ">", "<=", "<", "==", "is_true"]


@dataclass(frozen=True)
class ReviewRecord:
    """Who wrote and who checked a data file, and when it must next be reviewed."""

    file: str
    file_version: str
    authored_by: str
    checked_by: str
    date_reviewed: str
    date_next_review: str


@dataclass(frozen=True)
class MedicineRule:
    """A condition counts only if the person has at least ``min_issues`` prescriptions (issues) of any
    of ``classes`` within ``window_days`` before the reference date, and none of ``without_conditions``.

    ``with_diagnosis_ever``: the medicine route also needs a diagnostic code recorded at any time (the
    Cambridge/Barnett rule for depression and anxiety: a code in the last year, *or* an older code plus
    current treatment).
    """

    classes: tuple[str, ...]
    min_issues: int
    window_days: int
    without_conditions: tuple[str, ...]
    with_diagnosis_ever: bool = False


@dataclass(frozen=True)
class ConditionDefinition:
    """One long-term condition of the library.

    ``requires`` says how ``codes`` and ``medicine_rule`` combine:

    - ``diagnosis``: a code in ``codes`` recorded within ``diagnosis_window_days`` (``None``: ever);
    - ``medicine``: the medicine rule alone;
    - ``diagnosis_and_medicine``: both (e.g. asthma currently treated, epilepsy currently treated);
    - ``diagnosis_or_medicine``: either (e.g. painful condition; depression, where the medicine route
      also needs a code ever when ``medicine_rule.with_diagnosis_ever``).

    ``cms_weight`` is the Cambridge Multimorbidity Score general-outcome weight for the 20-condition
    score. Where one CMS item spans two library conditions (CMS "anxiety or depression"), both carry
    the same ``cms_component`` and the weight counts once: use ``ConditionLibrary.cms_score``.
    """

    id: str
    name: str
    body_system: str
    category: Literal["physical", "mental"]
    codes: frozenset[Code]
    diagnosis_window_days: int | None
    medicine_rule: MedicineRule | None
    requires: Requirement
    cms_weight: float | None
    in_barnett: bool
    in_ho_always: bool
    sources: tuple[str, ...]
    cms_component: str | None = None
    ho_always_items: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class ExcludedCode:
    """A code deliberately not mapped to any library condition, with the reason (e.g. a risk factor)."""

    system: str
    code: str
    display: str
    reason: str


@dataclass(frozen=True)
class ConditionLibrary:
    conditions: tuple[ConditionDefinition, ...]
    version: str
    excluded_codes: tuple[ExcludedCode, ...] = ()
    review: ReviewRecord | None = None
    active_clinical_statuses: tuple[str, ...] = ()
    """FHIR Condition.clinicalStatus codes under which a coded condition counts (``active`` and kin)."""
    _by_id: dict[str, ConditionDefinition] = field(default_factory=dict, repr=False, compare=False)
    _by_code: dict[Code, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[Code, list[str]] = {}
        for condition in self.conditions:
            self._by_id[condition.id] = condition
            for code in condition.codes:
                by_code.setdefault(code, []).append(condition.id)
        self._by_code.update({code: tuple(ids) for code, ids in by_code.items()})

    def by_id(self, id: str) -> ConditionDefinition:
        try:
            return self._by_id[id]
        except KeyError:
            raise KeyError(f"no condition {id!r} in the condition library") from None

    def conditions_for_code(self, system: str, code: str) -> tuple[str, ...]:
        """Ids of the conditions whose diagnostic codes include ``(system, code)``; empty if none."""
        return self._by_code.get((system, code), ())

    def cms_score(self, condition_ids: Iterable[str]) -> float:
        """Cambridge Multimorbidity Score (general outcome, 20 conditions) for the conditions present,
        counting each CMS item once (anxiety and depression share one item)."""
        weights: dict[str, float] = {}
        for condition_id in condition_ids:
            condition = self.by_id(condition_id)
            if condition.cms_weight is not None:
                weights[condition.cms_component or condition.id] = condition.cms_weight
        return round(sum(weights.values()), 4)


@dataclass(frozen=True)
class MedicineClass:
    id: str
    name: str
    codes: frozenset[Code]
    ingredients: tuple[str, ...]
    bnf: str | None
    sources: tuple[str, ...]

    def matches(self, system: str | None, code: str | None, display: str | None) -> bool:
        """The feature engine's rule: listed ``(system, code)``, or an ingredient in the lowercase text."""
        if system is not None and code is not None and (system, code) in self.codes:
            return True
        text = (display or "").lower()
        return any(ingredient in text for ingredient in self.ingredients)


@dataclass(frozen=True)
class FrailtyDeficit:
    """One eFI deficit. Most are present when any of ``codes`` was ever recorded; polypharmacy is
    present when the person has at least ``min_distinct_medicines`` distinct medicines."""

    id: str
    name: str
    codes: frozenset[Code]
    min_distinct_medicines: int | None = None


@dataclass(frozen=True)
class FrailtyIndex:
    deficits: tuple[FrailtyDeficit, ...]
    categories: tuple[tuple[str, float, float], ...]
    sources: tuple[str, ...] = ()

    def category(self, score: float) -> str:
        """Category for an eFI score (deficits present / number of deficits).

        Each category is ``(name, lower_exclusive, upper_inclusive)``; the first category also takes
        its lower bound (a score of 0 is "fit").
        """
        for index, (name, lower, upper) in enumerate(self.categories):
            if (lower < score or (index == 0 and score == lower)) and score <= upper:
                return name
        raise ValueError(f"eFI score {score} is outside every category")

    def deficit(self, id: str) -> FrailtyDeficit:
        for deficit in self.deficits:
            if deficit.id == id:
                return deficit
        raise KeyError(f"no eFI deficit {id!r}")


@dataclass(frozen=True)
class CitedCodeList:
    """A named code list and the citations for it: what a social need and a monitoring check are."""

    id: str
    name: str
    codes: frozenset[Code]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class SocialNeed(CitedCodeList):
    """A social need (social_needs.yaml): a circumstance recorded in the record by one of its codes."""


@dataclass(frozen=True)
class WorklistCriterion:
    """``reason`` is a ``str.format`` template filled with ``value`` (the person's feature value) and
    any other feature column it names (``{overdue_monitoring_detail}``); when a named column is absent
    or empty for the person, ``fallback_reason`` (which may use only ``{value}``) is used instead.

    Priority: a criterion met adds ``weight`` points to the person's score on the list (``per_unit``:
    ``weight`` points for each unit of the value, at most ``max_points``); ``weight_basis`` is the
    citation or the CareWeave default's reason. ``min_age``: the criterion counts only from that age
    (the eFI is validated in people 65 and over). ``priority_only``: the criterion puts no one on the
    list, it only adds to the score of people already on it."""

    feature: str
    op: Operator
    value: float | bool | None
    reason: str
    weight: float = 0.0
    weight_basis: str = ""
    per_unit: bool = False
    max_points: float | None = None
    fallback_reason: str | None = None
    min_age: int | None = None
    priority_only: bool = False

    def evaluate(self, actual: object) -> bool:
        """Whether a person's feature value meets this criterion (missing values never do)."""
        if actual is None:
            return False
        if self.op == "is_true":
            return actual is True
        if self.op == "==":
            return actual == self.value
        if not isinstance(actual, int | float) or isinstance(actual, bool) or self.value is None:
            return False
        threshold = float(self.value)
        if self.op == ">=":
            return actual >= threshold
        if self.op == ">":
            return actual > threshold
        if self.op == "<=":
            return actual <= threshold
        return actual < threshold

    @property
    def template_fields(self) -> tuple[str, ...]:
        """The feature columns the reason names, besides ``value`` (in order of first use)."""
        names = [name for _, name, _, _ in string.Formatter().parse(self.reason) if name]
        return tuple(dict.fromkeys(n for n in names if n != "value"))

    def explain(self, actual: object, others: Mapping[str, object] | None = None) -> str:
        """The reason filled with the person's value and the other columns it names; the fallback
        when any of those is absent or empty."""
        others = others or {}
        fields = self.template_fields
        if all(others.get(name) not in (None, "") for name in fields):
            return self.reason.format(value=actual, **{name: others[name] for name in fields})
        if self.fallback_reason is not None:
            return self.fallback_reason.format(value=actual)
        return self.reason.format(value=actual, **{name: others.get(name) or "not recorded" for name in fields})

    def points(self, actual: object) -> float:
        """What meeting this criterion adds to the priority score (0 when not met)."""
        if not self.evaluate(actual):
            return 0.0
        if self.per_unit and isinstance(actual, int | float) and not isinstance(actual, bool):
            earned = self.weight * float(actual)
            return earned if self.max_points is None else min(earned, self.max_points)
        return self.weight


@dataclass(frozen=True)
class WorklistRule:
    """A worklist. ``min_age`` and ``on_register`` say who the rule applies to (``eligibility``: the
    sentence and its citations); ``priority_factors`` only add to the score of people on the list."""

    id: str
    title: str
    description: str
    match: Literal["any", "all"]
    criteria: tuple[WorklistCriterion, ...]
    sources: tuple[str, ...]
    min_age: int | None = None
    on_register: bool = False
    eligibility: str = ""
    eligibility_sources: tuple[str, ...] = ()
    priority_factors: tuple[WorklistCriterion, ...] = ()


@dataclass(frozen=True)
class EncounterKind:
    """Encounters of one kind of care: any of ``classes`` (v3 ActCode) with any of ``priorities`` (v3
    ActPriority; empty: any priority), or any encounter whose type is one of ``types``."""

    classes: tuple[str, ...]
    priorities: tuple[str, ...]
    types: tuple[str, ...]
    description: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class UnplannedCareDefinition:
    """What counts as unplanned hospital care (emergency admissions, A&E attendances) and what is
    urgent primary care instead, never counted with them."""

    emergency_admission: EncounterKind
    ae_attendance: EncounterKind
    urgent_primary_care: EncounterKind


@dataclass(frozen=True)
class RemovalSettings:
    """How long a clinician's removal from a worklist lasts by default, and what a clinician's
    addition adds to the priority score (with the reason for both)."""

    review_months: int
    added_by_clinician_weight: float
    note: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class MonitoringRequirement:
    condition_id: str
    observation_codes: frozenset[Code]
    name: str
    interval_days: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class KeyMeasurement:
    """A measurement shown on the record summary (latest value and trend), with every code it is
    recorded under. ``codes`` already includes the codes of ``monitoring`` (the names of the
    monitoring requirements it shows), so a reading that counts as monitoring is also shown."""

    id: str
    label: str
    codes: frozenset[Code]
    monitoring: tuple[str, ...]
    sources: tuple[str, ...]
