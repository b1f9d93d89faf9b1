"""dotenv-sample names every environment variable the code reads, so an operator can see them all in one place."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "careweave"

# os.environ.get("X"), os.environ["X"], os.getenv("X"), settings' env("X"), and a module's ENV_VAR = "X"
READS = re.compile(
    r"""(?:environ\.get\(\s*|environ\[\s*|getenv\(\s*|\benv\(\s*|ENV_VAR\s*=\s*)["']([A-Z][A-Z0-9_]+)["']"""
)
# Set by the code for itself (setdefault) rather than read from the operator.
SET_BY_THE_CODE = {"CAREWEAVE_DEMO"}


def variables_read() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if "migrations" not in path.parts:
            found |= set(READS.findall(path.read_text(encoding="utf-8")))
    return found - SET_BY_THE_CODE


def test_the_pattern_finds_what_the_code_reads() -> None:
    sample = 'os.environ.get("A_B", "1")\nenv("C_D")\nos.environ["EF"]\nos.getenv("H_I")\nENV_VAR = "F_G"\n'
    assert set(READS.findall(sample)) == {"A_B", "C_D", "EF", "F_G", "H_I"}


def test_dotenv_sample_lists_every_variable_the_code_reads() -> None:
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / "dotenv-sample").read_text(), re.M))
    missing = variables_read() - listed
    assert not missing, f"add to dotenv-sample, with a line on what each does: {sorted(missing)}"
