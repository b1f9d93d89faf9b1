""" "Why am I taking this?": every note is reviewed data with its sources, written for a reading age
of 9 to 11 as measured by the Flesch-Kincaid grade (UK reading age = grade + 5), printed per class;
``why_taking`` finds a medicine's note by its class, and says nothing for a medicine we do not cover."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from pypdf import PdfReader

from careweave.medicines.information import why_taking
from careweave.terminology.loading.medicine_information import load_medicine_information

VOWELS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """A standard heuristic: vowel groups, less a silent final e, at least one."""
    word = word.lower().strip(".,;:!?\"'()")
    if not word:
        return 0
    count = len(VOWELS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(count, 1)


def reading_age(text: str) -> float:
    """Flesch-Kincaid grade level + 5 (Kincaid et al. 1975)."""
    sentences = max(len([s for s in re.split(r"[.!?]+", text) if s.strip()]), 1)
    words = [w for w in re.findall(r"[A-Za-z0-9']+", text)]
    total = sum(syllables(w) for w in words)
    grade = 0.39 * len(words) / sentences + 11.8 * total / len(words) - 15.59
    return grade + 5


def test_syllables_and_the_formula_on_known_text() -> None:
    assert [syllables(w) for w in ("cat", "table", "medicine", "take", "every")] == [1, 2, 3, 1, 3]
    # short words in short sentences read young; long words in long sentences read old
    assert reading_age("The cat sat on the mat. It was fat.") < 6
    assert reading_age("Anticoagulation necessitates comprehensive haematological surveillance.") > 18


def test_every_note_reads_at_age_11_or_under_and_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    entries = load_medicine_information()
    ages = {e.medicine_class.id: reading_age(e.sentence) for e in entries}
    with capsys.disabled():
        print("\nReading age (Flesch-Kincaid grade + 5) of each 'why am I taking this' note:")
        for class_id, age in ages.items():
            print(f"  {class_id:28s} {age:5.1f}")
        print(
            f"  {'mean':28s} {sum(ages.values()) / len(ages):5.1f}  (goal: at most 11; NHS plain English aims at 9 to 11)"
        )
    assert all(age <= 11.0 for age in ages.values()), {k: round(v, 1) for k, v in ages.items() if v > 11}
    assert all(e.sources for e in entries)


@dataclass
class _Medicine:
    system: str
    code: str
    display: str


def test_why_taking_by_class_and_none_when_not_covered() -> None:
    statin = why_taking(_Medicine("https://dmd.nhs.uk", "1", "Atorvastatin 20mg tablets"))
    assert statin is not None and statin.startswith("A statin lowers the fat in your blood.")
    methotrexate = why_taking(_Medicine("https://dmd.nhs.uk", "2", "Methotrexate 2.5mg tablets"))
    assert methotrexate is not None and "once a week" in methotrexate  # the narrow class comes first
    assert why_taking(_Medicine("https://dmd.nhs.uk", "3", "Sodium chloride 0.9% eye drops")) is None


@pytest.mark.django_db
def test_the_printed_care_plan_says_why_for_each_medicine(on_three: dict[str, Any]) -> None:
    from careweave.care import services
    from careweave.care.services import PlanData
    from tests.web.conftest import signed_in

    alice, gp = on_three["alice"], on_three["gp_a"]
    services.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True)
    services.save_care_plan(user=gp, person=alice, data=PlanData(what_matters="Walking the dog."))
    page = signed_in(gp).get(f"/care/people/{alice.pk}/plan/print/").content.decode()
    assert "My medicines and why I take them" in page
    assert "Metformin 500mg tablets" in page and "This medicine lowers the sugar in your blood." in page
    assert "Apixaban 5mg tablets" in page and "It helps stop clots that can cause a stroke." in page
    pdf = signed_in(gp).get(f"/care/people/{alice.pk}/plan.pdf").content
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "This medicine lowers the sugar in your blood." in text
