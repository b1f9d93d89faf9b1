"""Social need: coded findings (as conditions or observations) and recorded social circumstances, as
one flag per need and a count of distinct needs."""

from __future__ import annotations

import pyarrow as pa

from careweave.population.features import FeatureSpecification
from careweave.population.sql import common
from careweave.population.sql.common import Context, Step, code_table, flag, string_list


def lookups(spec: FeatureSpecification) -> dict[str, pa.Table]:
    """The library's social needs and their codes."""
    needs = spec.knowledge.social_needs
    return {
        "lk_social_need": pa.table({"need_id": pa.array([n.id for n in needs], pa.string())}),
        "lk_social_code": code_table([(code, n.id) for n in needs for code in n.codes], "need_id"),
    }


def summary_step(ctx: Context) -> Step:
    as_of = ctx.as_of
    social_flags = ",\n".join(
        f"{flag(f'h.need_id = {string_list([need])}')} AS {ctx.dialect.quote(need)}"
        for need in ctx.spec.social_columns
    )
    return Step(
        "social_summary",
        f"""SELECT h.person_id, COUNT(DISTINCT h.need_id) AS social_need_count,
          {social_flags}
        FROM (
          SELECT s.person_id, s.kind AS need_id FROM social s
          WHERE s.recorded_date IS NULL OR s.recorded_date <= {as_of}
          UNION ALL
          SELECT c.person_id, k.need_id FROM condition c JOIN lk_social_code k ON c.system = k.system AND c.code = k.code
          WHERE (c.clinical_status IS NULL OR c.clinical_status IN ({common.ACTIVE_STATUSES}))
            AND ({common.CONDITION_DATE} IS NULL OR {common.CONDITION_DATE} <= {as_of})
          UNION ALL
          SELECT o.person_id, k.need_id FROM observation o JOIN lk_social_code k ON o.system = k.system AND o.code = k.code
          WHERE o.effective IS NULL OR CAST(o.effective AS DATE) <= {as_of}) h
        JOIN lk_social_need n ON h.need_id = n.need_id
        GROUP BY h.person_id""",
    )
