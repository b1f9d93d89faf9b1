"""Shared fixtures. Tests that need ../shared/data skip without it, except under CI where it must exist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Spark on the tests' tiny tables: one shuffle partition instead of eight cuts each query's task
# overhead several-fold (a cluster keeps its own setting; this is only the tests' default).
os.environ.setdefault("CAREWEAVE_SPARK_SHUFFLE_PARTITIONS", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_data_dir(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: under CI ../shared/data must be present")
        pytest.skip(f"{path} not present (tests using real FHIR data need ../shared beside the repo)")
    return path
