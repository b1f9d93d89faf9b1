"""Continuity of care indices (issue 17): the worked cases of the issue, the undefined cases, ties in
dates, row order, the period, a plain-Python reading of the formulas on synthetic contacts, and the
CSV reader's refusals. DuckDB here; Spark gives the same rows (test_continuity_parity.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from careweave.population.continuity import (
    CONTACT_SCHEMA,
    ContactFileError,
    ContinuityQuestion,
    contacts,
    indices,
    read_contacts_csv,
    run_duckdb,
    synthetic,
)
from careweave.population.continuity.sentence import usual_gp
from careweave.population.continuity.spec import COMPUTED
from careweave.terminology import TerminologyError
from careweave.terminology.continuity import CONTINUITY_FILE, load_continuity

DAY0 = dt.date(2025, 1, 6)


def sequence(clinicians: str, person: str = "p") -> list[tuple[str, dt.date, str]]:
    """One contact a day, in the order given: "AAB" is A, then A, then B."""
    return [(person, DAY0 + dt.timedelta(days=i), c) for i, c in enumerate(clinicians)]


def one(rows: list[tuple[str, dt.date, str]]) -> dict[str, object]:
    [person] = indices(contacts(rows))
    return person.as_json(places=None)


def test_aab() -> None:
    result = one(sequence("AAB"))
    assert result["visits"] == 3 and result["clinicians"] == 2
    assert result["upc"] == pytest.approx(0.667, abs=5e-4)
    assert result["coc"] == pytest.approx(0.333, abs=5e-4)
    assert result["hhi"] == pytest.approx(0.556, abs=5e-4)
    assert result["mmci"] == pytest.approx(0.524, abs=5e-4)
    assert result["secon"] == pytest.approx(0.5)


def test_abab_has_no_sequential_continuity_but_the_counts_of_aabb() -> None:
    abab, aabb = one(sequence("ABAB")), one(sequence("AABB"))
    assert abab["secon"] == 0.0
    assert aabb["secon"] == pytest.approx(2 / 3)
    for key in ("visits", "clinicians", "upc", "coc", "hhi", "mmci"):
        assert abab[key] == aabb[key]


def test_aaaabbbb() -> None:
    result = one(sequence("AAAABBBB"))
    assert result["upc"] == pytest.approx(0.5)
    assert result["coc"] == pytest.approx(0.429, abs=5e-4)
    assert result["hhi"] == pytest.approx(0.5)
    assert result["secon"] == pytest.approx(6 / 7)


def test_one_visit_leaves_coc_and_secon_undefined() -> None:
    result = one(sequence("A"))
    assert result == {
        "person": "p", "visits": 1, "clinicians": 1, "upc": 1.0, "coc": None, "hhi": 1.0, "mmci": 1.0, "secon": None
    }  # fmt: skip


def test_always_the_same_clinician_is_perfect_continuity_and_never_the_same_is_none() -> None:
    same, never = one(sequence("AAAAA")), one(sequence("ABCDE"))
    assert all(same[k] == pytest.approx(1.0) for k in ("upc", "coc", "hhi", "mmci", "secon"))
    assert (
        never["coc"] == 0.0 and never["secon"] == 0.0 and never["mmci"] == pytest.approx(0.1 / 4.1)
    )  # near 0, not 0: the 0.1
    assert never["upc"] == pytest.approx(0.2) and never["hhi"] == pytest.approx(0.2)


def test_contacts_on_the_same_day_are_ordered_by_clinician_whatever_the_row_order() -> None:
    day1, day2 = DAY0, DAY0 + dt.timedelta(days=1)
    rows = [("p", day1, "B"), ("p", day2, "A"), ("p", day2, "B"), ("p", day2 + dt.timedelta(days=1), "A")]
    answers = {tuple(one(list(order)).items()) for order in itertools.permutations(rows)}
    assert len(answers) == 1
    # B | A, B | A: in (date, clinician) order B, A, B, A: no two consecutive with the same clinician
    assert dict(next(iter(answers)))["secon"] == 0.0
    # B on the last day instead: B, A, B, B (one pair of three) in every row order
    rows[3] = ("p", day2 + dt.timedelta(days=1), "B")
    assert {one(list(order))["secon"] for order in itertools.permutations(rows)} == {1 / 3}


def test_shuffled_rows_give_the_same_table() -> None:
    table = synthetic.generate(300, contacts_per_person=8, seed=3)
    question = ContinuityQuestion.of()
    shuffled = table.take(pa.array(random.Random(5).sample(range(table.num_rows), table.num_rows)))
    assert run_duckdb(table, question).equals(run_duckdb(shuffled, question))


def _by_hand(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """The formulas of continuity.yaml read literally, one person at a time."""
    people: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        people.setdefault(str(row["person"]), []).append((int(row["day"]), str(row["clinician"])))  # type: ignore[call-overload]
    answer = {}
    for person, visits in people.items():
        visits.sort()
        n, counts = len(visits), Counter(c for _, c in visits)
        s = len(counts)
        same = sum(1 for a, b in itertools.pairwise(visits) if a[1] == b[1])
        answer[person] = {
            "visits": n,
            "clinicians": s,
            "upc": max(counts.values()) / n,
            "coc": None if n < 2 else (sum(v * v for v in counts.values()) - n) / (n * (n - 1)),
            "hhi": sum((v / n) ** 2 for v in counts.values()),
            "mmci": (1 - s / (n + 0.1)) / (1 - 1 / (n + 0.1)),
            "secon": None if n < 2 else same / (n - 1),
        }
    return answer


def test_the_engine_agrees_with_the_formulas_read_by_hand() -> None:
    table = synthetic.generate(400, contacts_per_person=6, seed=11)
    expected = _by_hand(table.to_pylist())
    found = indices(table)
    assert [p.person for p in found] == sorted(expected)
    for person in found:
        values = person.as_json(places=None)
        for key, value in expected[person.person].items():
            assert values[key] == (None if value is None else pytest.approx(value, rel=1e-12)), (
                person.person,
                key,
            )


def test_the_period_keeps_only_its_contacts() -> None:
    rows = sequence("AABBB")
    question = ContinuityQuestion.of(DAY0 + dt.timedelta(days=1), DAY0 + dt.timedelta(days=3))
    [person] = indices(contacts(rows), question)
    assert (person.visits, person.clinicians, person.secon) == (3, 2, 0.5)  # A, B, B
    assert indices(contacts(rows), ContinuityQuestion.of(DAY0 + dt.timedelta(days=9))) == []


def test_people_come_out_in_order_and_each_once() -> None:
    rows = sequence("AB", "zed") + sequence("A", "amy") + sequence("BBA", "max")
    random.Random(1).shuffle(rows)
    assert [p.person for p in indices(contacts(rows))] == ["amy", "max", "zed"]


def test_a_table_of_the_wrong_shape_is_refused() -> None:
    wrong = pa.table({"person": ["p"], "day": pa.array([1], pa.int64()), "clinician": ["A"]})
    with pytest.raises(ValueError, match="expected"):
        indices(wrong)
    assert contacts([]).schema.equals(CONTACT_SCHEMA)


def test_the_reviewed_file_lists_exactly_the_computed_indices_each_cited() -> None:
    definitions = load_continuity()
    assert tuple(index.id for index in definitions.indices) == COMPUTED
    assert all(index.sources and index.formula for index in definitions.indices)
    assert definitions.ordering == ("date", "clinician")
    assert {"AMB", "VR"} <= set(definitions.encounter_classes)


def test_another_ordering_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(CONTINUITY_FILE.read_text(encoding="utf-8"))
    data["ordering"]["keys"] = ["date"]
    copy = tmp_path / "continuity.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(TerminologyError, match=r"continuity.yaml: ordering.keys: only \[date, clinician\]"):
        load_continuity(copy)


# -- the CSV reader ------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_csv_is_read_whatever_its_column_order_and_extra_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "site,clinician,date,person\nx,A,2025-01-06,p\ny,B,2025-01-05,p\n\n")
    table = read_contacts_csv(path)
    assert table.schema.equals(CONTACT_SCHEMA)
    assert table.to_pylist() == [
        {"person": "p", "day": (dt.date(2025, 1, 6) - dt.date(1970, 1, 1)).days, "clinician": "A"},
        {"person": "p", "day": (dt.date(2025, 1, 5) - dt.date(1970, 1, 1)).days, "clinician": "B"},
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("person,date\np,2025-01-06\n", r"line 1 \(header\): missing column\(s\) clinician"),
        (
            "person,date,clinician\np,2025-01-06,A\np,2025-01-07\n",
            r"row 2 \(line 3\), column clinician: missing",
        ),
        ("person,date,clinician\n,2025-01-06,A\n", r"row 1 \(line 2\), column person: empty"),
        ("person,date,clinician\np,2025-01-06, \n", r"row 1 \(line 2\), column clinician: empty"),
        (
            "person,date,clinician\np,2025-02-30,A\n",
            r"row 1 \(line 2\), column date: '2025-02-30' is not a date",
        ),
        (
            "person,date,clinician\np,06/01/2025,A\n",
            r"row 1 \(line 2\), column date: '06/01/2025' is not a date",
        ),
        ("person,date,clinician\np,20250106,A\n", r"row 1 \(line 2\), column date: '20250106' is not a date"),
        ("", r"the file is empty"),
    ],
)
def test_a_bad_row_is_refused_naming_the_file_row_and_column(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ContactFileError, match=rf"^{path}: {where}"):
        read_contacts_csv(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContactFileError, match="no such file"):
        read_contacts_csv(tmp_path / "absent.csv")


# -- the summary's sentence ----------------------------------------------------------------------------


def dated(clinicians: str) -> list[tuple[dt.date, str]]:
    return [(date, clinician) for _, date, clinician in sequence(clinicians)]


def test_the_sentence_counts_the_usual_gp_at_the_last_ten_appointments() -> None:
    usual = usual_gp(dated("BBBBB" + "AAAABACACA"))  # 15 contacts; the last 10 have A 7 times
    assert usual is not None
    assert (usual.clinician, usual.seen, usual.out_of) == ("A", 7, 10)
    assert usual.sentence == "Saw their usual GP at 7 of their last 10 appointments"
    shuffled = dated("BBBBB" + "AAAABACACA")
    random.Random(2).shuffle(shuffled)
    assert usual_gp(shuffled) == usual


def test_the_sentence_with_few_contacts_a_tie_or_no_usual_gp() -> None:
    assert usual_gp(dated("A")) is None and usual_gp([]) is None
    tie = usual_gp(dated("ABBA"))
    assert tie is not None and (tie.clinician, tie.seen, tie.out_of) == ("A", 2, 4)  # A seen last
    assert tie.sentence == "Saw their usual GP at 2 of their last 4 appointments"
    spread = usual_gp(dated("ABC"))
    assert spread is not None and spread.sentence == "Saw a different GP at each of their last 3 appointments"
