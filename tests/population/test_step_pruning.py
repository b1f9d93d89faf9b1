"""Step pruning: an engine asked for some outputs creates only the steps they read, and the answers
are the same as when every step is created. The comparison runs on the synthetic extract (every
output, DuckDB and Spark); the dependency finder is tested on hand-written steps."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from careweave.population.engines import get_engine
from careweave.population.engines.base import OUTPUTS, needed_steps
from careweave.population.extract_schema import Extract
from careweave.population.features import EngineName, FeatureKnowledge, FeatureSpecification
from careweave.population.reviews.plan import PLAN_OUTPUTS
from careweave.population.sql import DUCKDB_DIALECT, SPARK_DIALECT, Step, compile_steps
from careweave.population.sql.common import identifiers, step_dependencies, steps_needed
from careweave.population.synthetic_extract import generate_extract
from careweave.terminology.loading.reviews import load_review_planning

AS_OF = dt.date(2024, 3, 31)
KNOWLEDGE = FeatureKnowledge.from_terminology()
SPEC = FeatureSpecification(KNOWLEDGE, AS_OF)

STEPS = (
    Step("monitoring_due", "SELECT person_id FROM observation", materialize=True),
    Step("monitoring", 'SELECT person_id, COUNT(*) AS n FROM "monitoring_due" GROUP BY person_id'),
    Step("due_people", "SELECT d.person_id FROM monitoring_due d"),
    Step("people", "SELECT person_id FROM person"),
    Step("people_due", "SELECT p.person_id FROM `people` p JOIN due_people x ON x.person_id = p.person_id"),
    Step("unrelated", "SELECT 1 AS monitoring_duex, 2 AS xpeople"),
)


def _names(steps: tuple[Step, ...]) -> list[str]:
    return [step.name for step in steps]


def test_a_step_name_inside_a_longer_identifier_is_not_a_dependency() -> None:
    dependencies = step_dependencies(STEPS)
    assert dependencies["monitoring"] == {"monitoring_due"}
    assert dependencies["due_people"] == {"monitoring_due"}  # not ``monitoring``, its prefix
    assert dependencies["people_due"] == {"people", "due_people"}
    assert dependencies["unrelated"] == frozenset()  # ``monitoring_duex`` and ``xpeople`` are other words
    assert dependencies["monitoring_due"] == frozenset()
    assert "monitoring" not in identifiers("SELECT * FROM monitoring_due")


def test_only_the_steps_a_query_reads_are_kept_transitively_in_order() -> None:
    assert _names(steps_needed(STEPS, ["SELECT * FROM monitoring_due ORDER BY person_id"])) == [
        "monitoring_due"
    ]
    assert _names(steps_needed(STEPS, ["SELECT * FROM people_due"])) == [
        "monitoring_due",
        "due_people",
        "people",
        "people_due",
    ]
    assert _names(steps_needed(STEPS, ["SELECT * FROM monitoring", "SELECT * FROM people"])) == [
        "monitoring_due",
        "monitoring",
        "people",
    ]
    assert steps_needed(STEPS, ["SELECT 1"]) == ()


def test_the_planner_outputs_leave_out_features_and_the_services_pass() -> None:
    for dialect in (DUCKDB_DIALECT, SPARK_DIALECT):
        compiled = compile_steps(SPEC, dialect)
        kept = set(_names(needed_steps(compiled.steps, PLAN_OUTPUTS)))
        assert {"monitoring_due", "slot_inputs", "person_status", "condition_summary", "efi"} <= kept
        assert not kept & {"features", "monitoring", "encounters_12m", "social_summary", "register"}
        assert _names(needed_steps(compiled.steps, None)) == _names(compiled.steps)
        assert set(_names(needed_steps(compiled.steps, OUTPUTS))) == set(_names(compiled.steps))


def test_unknown_outputs_are_refused_before_any_step_is_created() -> None:
    with pytest.raises(ValueError, match="unknown output"):
        needed_steps(compile_steps(SPEC, DUCKDB_DIALECT).steps, ("features", "nonsense"))


@pytest.fixture(scope="module")
def synthetic() -> Extract:
    return generate_extract(KNOWLEDGE, 800, seed=20240331, as_of=AS_OF)


def assert_same(left: pa.Table, right: pa.Table, what: str) -> None:
    assert left.schema == right.schema, what
    assert left.num_rows == right.num_rows, what
    for name in left.column_names:
        assert left.column(name).equals(right.column(name)), f"{what}: column {name} differs"


def test_pruning_never_changes_an_output(synthetic: Extract, engine: EngineName) -> None:
    with get_engine(engine) as full_engine:
        full_engine.prepare(synthetic, SPEC)
        full = {name: full_engine.fetch(name) for name in OUTPUTS}
    for name in OUTPUTS:
        with get_engine(engine) as runner:
            pruned = runner.evaluate(synthetic, SPEC, (name,))[name]
        assert pruned.num_rows > 0, name
        assert_same(pruned, full[name], f"{engine} {name}")
    with get_engine(engine) as runner:
        planned = runner.evaluate(synthetic, SPEC, PLAN_OUTPUTS)
        with pytest.raises(RuntimeError, match="'features' was not prepared"):
            runner.fetch("features")
    for name in PLAN_OUTPUTS:
        assert_same(planned[name], full[name], f"{engine} {name} with the planner's outputs")
    slot = full["slot_inputs"]
    assert_same(slot, full["features"].select(slot.column_names), f"{engine} slot inputs against features")


def test_every_double_slot_feature_is_a_slot_input() -> None:
    columns = set(SPEC.slot_input_schema().names)
    for rule in load_review_planning().double_slot_rules:
        assert rule.feature is None or rule.feature in columns, rule.id
