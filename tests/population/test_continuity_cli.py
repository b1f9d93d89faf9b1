"""`careweave measures continuity FILE.csv [--json]`: any CSV of person,date,clinician rows, in any
order, gives each person's indices with no database; a bad row or a missing file exits 2 with one
line naming the file, the row and the column, and prints no results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from careweave.cli import app
from careweave.population.continuity.commands import build_measures_app

ROWS = [
    "person,date,clinician,note",
    "aab,2025-03-01,A,x",
    "aab,2025-03-02,A,",
    "aab,2025-03-03,B,",
    "abab,2025-03-04,B,",
    "abab,2025-03-01,A,",
    "abab,2025-03-03,A,",
    "abab,2025-03-02,B,",
    "once,2025-03-09,C,",
]


@pytest.fixture()
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["measures", "continuity", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_lists_each_person_in_order_with_null_where_undefined(csv_file: Path) -> None:
    code, out, _ = run(str(csv_file), "--json")
    assert code == 0
    people = json.loads(out)
    assert [p["person"] for p in people] == ["aab", "abab", "once"]
    assert all(
        list(p) == ["person", "visits", "clinicians", "upc", "coc", "hhi", "mmci", "secon"] for p in people
    )
    aab, abab, once = people
    assert (aab["upc"], aab["coc"], aab["hhi"], aab["mmci"], aab["secon"]) == pytest.approx(
        (0.667, 0.333, 0.556, 0.524, 0.5), abs=5e-4
    )
    assert (abab["visits"], abab["clinicians"], abab["secon"]) == (4, 2, 0.0)
    assert once["coc"] is None and once["secon"] is None and once["upc"] == 1.0
    assert out == json.dumps(people, indent=2) + "\n"


def test_the_row_order_of_the_file_does_not_matter(csv_file: Path, tmp_path: Path) -> None:
    reversed_file = tmp_path / "reversed.csv"
    reversed_file.write_text("\n".join([ROWS[0], *reversed(ROWS[1:])]) + "\n", encoding="utf-8")
    assert run(str(csv_file), "--json")[1] == run(str(reversed_file), "--json")[1]


def test_without_json_a_table(csv_file: Path) -> None:
    code, out, _ = run(str(csv_file))
    assert code == 0
    assert "3 people, 8 contacts" in out and "0.667" in out and "abab" in out


def test_the_period(csv_file: Path) -> None:
    code, out, _ = run(str(csv_file), "--from", "2025-03-02", "--to", "2025-03-03", "--json")
    assert code == 0
    assert {p["person"]: p["visits"] for p in json.loads(out)} == {"aab": 2, "abab": 2}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("abab,2025-3-05,A,", "row 9 (line 10), column date: '2025-3-05' is not a date YYYY-MM-DD"),
        (",2025-03-05,A,", "row 9 (line 10), column person: empty"),
        ("abab,2025-03-05", "row 9 (line 10), column clinician: missing (the row has 2 fields)"),
    ],
)
def test_a_bad_row_exits_2_naming_file_row_and_column(csv_file: Path, line: str, message: str) -> None:
    csv_file.write_text(csv_file.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    code, out, err = run(str(csv_file), "--json")
    assert code == 2
    assert out == ""
    assert " ".join(err.split()) == f"error: {csv_file}: {message}"


def test_a_missing_file_and_bad_options_exit_2(tmp_path: Path, csv_file: Path) -> None:
    code, out, err = run(str(tmp_path / "absent.csv"), "--json")
    assert (code, out) == (2, "")
    assert "absent.csv: no such file" in err
    assert run(str(csv_file), "--from", "March")[0] == 2
    assert run(str(csv_file), "--engine", "sqlite")[0] == 2
    code, out, err = run(str(csv_file), "--from", "2025-03-05", "--to", "2025-03-01")
    assert (code, out) == (2, "") and "--to (2025-03-01) is before --from (2025-03-05)" in err


def test_the_command_needs_no_database(csv_file: Path) -> None:
    def no_database() -> None:
        raise AssertionError("measures continuity set up Django")

    alone = typer.Typer()
    alone.add_typer(build_measures_app(no_database), name="measures")
    result = CliRunner().invoke(alone, ["measures", "continuity", str(csv_file), "--json"])
    assert result.exit_code == 0, result.output
    # and the real command, in a fresh interpreter, never imports Django at all
    script = (
        "import sys\nfrom careweave.cli import app\n"
        f"try:\n    app(['measures', 'continuity', {str(csv_file)!r}, '--json'])\n"
        "except SystemExit as done:\n    assert not done.code, done.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'), file=sys.stderr)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert finished.stderr.strip() == "[]"
    assert len(json.loads(finished.stdout)) == 3
