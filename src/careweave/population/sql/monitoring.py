"""Monitoring: checks a person's conditions call for (HbA1c, blood pressure, ...) not done within
their interval. A check is overdue when the person has the condition and no matching observation
within the interval; checks with the same name (e.g. HbA1c for two kinds of diabetes) count once."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from careweave.population.features import FeatureSpecification
from careweave.population.sql.common import Context, Step


def lookups(spec: FeatureSpecification) -> dict[str, pa.Table]:
    """The requirements (interval resolved to a window start) and their observation codes."""
    as_of = spec.as_of
    requirements = spec.knowledge.monitoring
    return {
        "lk_monitoring_requirement": pa.table(
            {
                "requirement_id": pa.array(range(len(requirements)), pa.int64()),
                "condition_id": pa.array([r.condition_id for r in requirements], pa.string()),
                "name": pa.array([r.name for r in requirements], pa.string()),
                "window_start": pa.array(
                    [as_of - dt.timedelta(days=r.interval_days) for r in requirements], pa.date32()
                ),
            }
        ),
        "lk_monitoring_code": pa.table(
            {
                "requirement_id": pa.array(
                    [i for i, r in enumerate(requirements) for _ in sorted(r.observation_codes)], pa.int64()
                ),
                "system": pa.array(
                    [c[0] for r in requirements for c in sorted(r.observation_codes)], pa.string()
                ),
                "code": pa.array(
                    [c[1] for r in requirements for c in sorted(r.observation_codes)], pa.string()
                ),
            }
        ),
    }


def overdue_step(ctx: Context) -> Step:
    return Step(
        "monitoring",
        f"""WITH done AS (
          SELECT DISTINCT o.person_id, r.requirement_id
          FROM observation o
          JOIN lk_monitoring_code m ON o.system = m.system AND o.code = m.code
          JOIN lk_monitoring_requirement r ON r.requirement_id = m.requirement_id
          WHERE CAST(o.effective AS DATE) > r.window_start AND CAST(o.effective AS DATE) <= {ctx.as_of})
        SELECT pc.person_id, COUNT(DISTINCT r.name) AS overdue
        FROM person_condition pc
        JOIN lk_monitoring_requirement r ON pc.condition_id = r.condition_id
        LEFT JOIN done ON done.person_id = pc.person_id AND done.requirement_id = r.requirement_id
        WHERE done.person_id IS NULL
        GROUP BY pc.person_id""",
    )
