"""The referral scan gives identical rows and findings on DuckDB and Spark: on a synthetic extract
with every state and pattern, and on the worked cases."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest

from careweave.population.engines.spark_engine import spark_session
from careweave.population.referrals import ReferralScan, synthetic
from careweave.population.referrals.engines import run_duckdb, run_spark
from careweave.population.referrals.findings import findings_from_rows
from tests.referrals.scan_cases import AS_OF, Case

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    yield spark_session()


def test_synthetic_extract_gives_the_same_rows_and_findings(spark: Any) -> None:
    extract = synthetic.generate(400, AS_OF, seed=7)
    question = ReferralScan.of(AS_OF)
    duck, sparks = run_duckdb(extract, question), run_spark(extract, question, spark)
    assert duck.schema == sparks.schema
    assert duck.to_pylist() == sparks.to_pylist()
    found = findings_from_rows(duck, question)
    assert [f.as_json() for f in found] == [f.as_json() for f in findings_from_rows(sparks, question)]
    # the extract exercises every rule, so parity is not vacuous
    rules = collections.Counter(f.rule for f in found)
    assert set(rules) == {
        "reason",
        "ping-pong",
        "unbooked",
        "unacknowledged",
        "did-not-attend",
        "no-letter",
        "milestone",
    }


def test_worked_cases_agree(spark: Any) -> None:
    case = Case()
    case.referral("sr-1", AS_OF.replace(year=AS_OF.year - 1, month=1))
    case.task("sr-1", "rejected", AS_OF.replace(year=AS_OF.year - 1, month=1), reason="refer-elsewhere")
    case.referral("sr-2", AS_OF.replace(year=AS_OF.year - 1, month=10))
    case.task("sr-2", "accepted", AS_OF.replace(year=AS_OF.year - 1, month=10))
    case.appointment("sr-2", "noshow", AS_OF.replace(month=1))
    duck = case.scan("duckdb")
    assert [f.as_json() for f in duck] == [f.as_json() for f in case.scan("spark")]
    assert {f.finding for f in duck} == {"loop", "lost", "validation-due"}
