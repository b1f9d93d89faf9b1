"""The four referral findings, written once as SQL steps that DuckDB and Spark SQL both run unchanged.

Every step reads only the extract (``extract.SCHEMAS``), the lookups (``service_wait``,
``validation_milestone``) and earlier steps. Dates are day numbers, so every comparison is integer
arithmetic. The last step, ``findings``, has one row per referral taking part in a finding (long
form, :data:`FINDING_SCHEMA`); ``findings.py`` groups the rows into findings and explains them.

The rules (thresholds and states) come from ``terminology/data/referral_rules.yaml``:

- **loop/reason**: a referral preceded within ``loop_window_days`` by a referral of the same person
  in one of ``loop_earlier_states`` (rejected, whatever the reason: returned, redirected...) for the
  same reason code or one related to it by SNOMED CT is-a (``reason_is_a``, either way round);
- **loop/ping-pong**: A -> B, then B -> A, then A -> B again within ``loop_window_days``;
- **lost/unbooked** (``waiting_states``) and **lost/unacknowledged** (``unacknowledged_states`` for
  more than ``unacknowledged_days``): no appointment booked and more days waiting than the
  receiving service's published wait (``service_wait``) or ``default_wait_days``;
- **lost/did-not-attend**: an open referral whose latest appointment was missed more than
  ``rebook_days`` ago with nothing booked since;
- **no-outcome**: completed more than ``letter_days`` ago with no letter (named in the Task's output
  or whose context names the referral);
- **validation-due**: open (``validation_states``) past a milestone with no validation since the
  milestone less ``validation_grace_days``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from careweave.population.sql.common import Step, string_list
from careweave.terminology.referrals import ReferralRules, load_referral_rules

from .extract import day_number

FINDING_SCHEMA: Final = pa.schema(
    [
        ("person_id", pa.int64()),
        ("nhs_number", pa.string()),
        ("finding", pa.string()),  # loop | lost | no-outcome | validation-due
        ("rule", pa.string()),  # reason | ping-pong | unbooked | unacknowledged | did-not-attend | ...
        ("anchor", pa.string()),  # what groups the rows of one finding
        ("referral_id", pa.string()),
        ("authored_day", pa.int32()),
        ("state", pa.string()),
        ("state_day", pa.int32()),
        ("status_reason", pa.string()),
        ("from_service", pa.string()),
        ("to_service", pa.string()),
        ("days_waiting", pa.int32()),
        ("limit_days", pa.int32()),  # the threshold that was passed (wait, rebooking, letter, milestone)
        ("event_day", pa.int32()),  # the missed appointment, the completion, the last validation
    ]
)
FINDING_ORDER: Final = "person_id, finding, rule, anchor, authored_day, referral_id"
_COLUMNS: Final = ", ".join(FINDING_SCHEMA.names)


def _after(later: str, earlier: str) -> str:
    """``later`` was made after ``earlier`` (same day: by id, so the order is total)."""
    return (
        f"({later}.authored_day > {earlier}.authored_day OR ({later}.authored_day = {earlier}.authored_day "
        f"AND {later}.referral_id > {earlier}.referral_id))"
    )


def _row(source: str, finding: str, rule: str, anchor: str, days: str, limit: str, event: str) -> str:
    """The long-form columns for one referral row ``source`` (an alias of referral_state); ``rule`` is
    a rule name, or a SQL expression when it starts with a parenthesis."""
    s = source
    rule_sql = rule if rule.startswith("(") else f"'{rule}'"
    return (
        f"{s}.person_id, {s}.nhs_number, '{finding}' AS finding, {rule_sql} AS rule, {anchor} AS anchor, "
        f"{s}.referral_id, {s}.authored_day, {s}.state, {s}.state_day, {s}.status_reason, "
        f"{s}.from_service, {s}.to_service, {days} AS days_waiting, {limit} AS limit_days, {event} AS event_day"
    )


NULL_INT: Final = "CAST(NULL AS INT)"


@dataclass(frozen=True)
class ReferralScan:
    """The question: the reviewed rules and the reference date."""

    rules: ReferralRules
    as_of: dt.date

    @classmethod
    def of(cls, as_of: dt.date) -> ReferralScan:
        return cls(load_referral_rules(), as_of)

    @property
    def as_of_day(self) -> int:
        day = day_number(self.as_of)
        assert day is not None
        return day

    def lookups(self) -> dict[str, pa.Table]:
        return {
            "service_wait": pa.table(
                {
                    "service": pa.array([w.ods_code for w in self.rules.published_waits], pa.string()),
                    "wait_days": pa.array([w.wait_days for w in self.rules.published_waits], pa.int32()),
                }
            ),
            "validation_milestone": pa.table(
                {"milestone_day": pa.array(list(self.rules.milestone_days), pa.int32())}
            ),
        }

    def steps(self) -> tuple[Step, ...]:
        r, today = self.rules, self.as_of_day
        open_states = string_list(r.open_states)
        booked = string_list(r.booked_statuses)
        default_wait = r.default_wait_days
        state = (
            "COALESCE(t.business_status, CASE WHEN r.status = 'revoked' THEN 'cancelled' "
            "WHEN r.status = 'completed' THEN 'completed' ELSE 'requested' END)"
        )
        referral_state = Step(
            "referral_state",
            f"""SELECT r.referral_id, r.person_id, r.nhs_number, r.authored_day,
              COALESCE(r.reason_code, '') AS reason_code, COALESCE(r.from_service, '') AS from_service,
              COALESCE(r.to_service, '') AS to_service, {state} AS state, t.modified_day AS state_day,
              t.status_reason, {today} - r.authored_day AS days_waiting
            FROM referral r
            LEFT JOIN (
              SELECT referral_id, business_status, status_reason, modified_day,
                ROW_NUMBER() OVER (PARTITION BY referral_id ORDER BY modified_day DESC NULLS LAST,
                  business_status DESC NULLS LAST, status_reason DESC NULLS LAST) AS rn
              FROM task WHERE modified_day IS NULL OR modified_day <= {today}
            ) t ON t.referral_id = r.referral_id AND t.rn = 1
            WHERE r.authored_day IS NOT NULL AND r.authored_day <= {today}
              AND COALESCE(r.status, '') NOT IN ('entered-in-error', 'draft')""",
            materialize=True,
        )
        booked_step = Step(
            "booked",
            f"""SELECT DISTINCT referral_id FROM appointment
            WHERE status IN ({booked}) AND (created_day IS NULL OR created_day <= {today})""",
        )
        dna = Step(
            "dna",
            f"""SELECT referral_id, MAX(start_day) AS dna_day FROM appointment
            WHERE status IN ({string_list(r.dna_statuses)}) AND start_day <= {today} GROUP BY referral_id""",
        )
        rebooked = Step(
            "rebooked",
            f"""SELECT DISTINCT a.referral_id FROM appointment a JOIN dna d ON d.referral_id = a.referral_id
            WHERE a.status IN ({booked}) AND (a.start_day > d.dna_day OR a.created_day > d.dna_day)
              AND (a.created_day IS NULL OR a.created_day <= {today})""",
        )
        rule = f"(CASE WHEN s.state IN ({string_list(r.unacknowledged_states)}) THEN 'unacknowledged' ELSE 'unbooked' END)"
        wait = f"COALESCE(w.wait_days, {default_wait})"
        lost = Step(
            "lost_unbooked",
            f"""SELECT {_row("s", "lost", rule, "s.referral_id", "s.days_waiting", wait, NULL_INT)}
            FROM referral_state s
            LEFT JOIN service_wait w ON w.service = s.to_service
            LEFT JOIN booked b ON b.referral_id = s.referral_id
            LEFT JOIN dna d ON d.referral_id = s.referral_id
            WHERE b.referral_id IS NULL AND d.referral_id IS NULL AND s.days_waiting > {wait}
              AND (s.state IN ({string_list(r.waiting_states)})
                   OR (s.state IN ({string_list(r.unacknowledged_states)}) AND s.days_waiting > {r.unacknowledged_days}))""",
        )
        lost_dna = Step(
            "lost_dna",
            f"""SELECT {_row("s", "lost", "did-not-attend", "s.referral_id", "s.days_waiting", str(r.rebook_days), "d.dna_day")}
            FROM referral_state s
            JOIN dna d ON d.referral_id = s.referral_id
            LEFT JOIN rebooked rb ON rb.referral_id = s.referral_id
            WHERE rb.referral_id IS NULL AND {today} - d.dna_day > {r.rebook_days} AND s.state IN ({open_states})""",
        )
        letters = Step(
            "letters",
            f"""SELECT DISTINCT referral_id FROM (
              SELECT related_referral_id AS referral_id, letter_day FROM letter WHERE related_referral_id IS NOT NULL
              UNION ALL
              SELECT o.referral_id, l.letter_day FROM task_output o JOIN letter l ON l.letter_ref = o.letter_ref
            ) x WHERE letter_day IS NULL OR letter_day <= {today}""",
        )
        no_outcome = Step(
            "no_outcome",
            f"""SELECT {_row("s", "no-outcome", "no-letter", "s.referral_id", NULL_INT, str(r.letter_days), "s.state_day")}
            FROM referral_state s LEFT JOIN letters l ON l.referral_id = s.referral_id
            WHERE s.state = 'completed' AND s.state_day IS NOT NULL AND {today} - s.state_day > {r.letter_days}
              AND l.referral_id IS NULL""",
        )
        validation = Step(
            "validation_due",
            f"""SELECT {_row("s", "validation-due", "milestone", "s.referral_id", "s.days_waiting", "m.milestone_day", "v.validated_day")}
            FROM referral_state s
            JOIN (
              SELECT s2.referral_id, MAX(vm.milestone_day) AS milestone_day FROM referral_state s2
              JOIN validation_milestone vm ON s2.days_waiting >= vm.milestone_day
              WHERE s2.state IN ({string_list(r.validation_states)}) GROUP BY s2.referral_id
            ) m ON m.referral_id = s.referral_id
            LEFT JOIN (
              SELECT referral_id, MAX(validated_day) AS validated_day FROM validation
              WHERE validated_day <= {today} GROUP BY referral_id
            ) v ON v.referral_id = s.referral_id
            WHERE v.validated_day IS NULL
               OR v.validated_day < s.authored_day + m.milestone_day - {r.validation_grace_days}""",
        )
        window = r.loop_window_days
        loop_pairs = Step(
            "loop_pairs",
            f"""SELECT DISTINCT later.referral_id AS anchor, earlier.referral_id AS earlier_id
            FROM referral_state later
            JOIN referral_state earlier ON earlier.person_id = later.person_id
              AND {_after("later", "earlier")} AND later.authored_day - earlier.authored_day <= {window}
            LEFT JOIN reason_is_a d ON d.descendant = later.reason_code AND d.ancestor = earlier.reason_code
            LEFT JOIN reason_is_a u ON u.descendant = earlier.reason_code AND u.ancestor = later.reason_code
            WHERE earlier.state IN ({string_list(r.loop_earlier_states)})
              AND later.reason_code <> '' AND earlier.reason_code <> ''
              AND (later.reason_code = earlier.reason_code OR d.descendant IS NOT NULL OR u.descendant IS NOT NULL)""",
        )
        loop_rows = Step(
            "loop_reason",
            f"""SELECT {_row("s", "loop", "reason", "p.anchor", NULL_INT, str(window), NULL_INT)}
            FROM loop_pairs p JOIN referral_state s ON s.referral_id = p.earlier_id
            UNION ALL
            SELECT {_row("s", "loop", "reason", "p.anchor", NULL_INT, str(window), NULL_INT)}
            FROM (SELECT DISTINCT anchor FROM loop_pairs) p JOIN referral_state s ON s.referral_id = p.anchor""",
        )
        pair = (
            "CASE WHEN a.from_service < a.to_service THEN concat(a.from_service, '|', a.to_service) "
            "ELSE concat(a.to_service, '|', a.from_service) END"
        )
        triples = Step(
            "ping_pong_triples",
            f"""SELECT {pair} AS anchor, a.referral_id AS r1, b.referral_id AS r2, c.referral_id AS r3
            FROM referral_state a
            JOIN referral_state b ON b.person_id = a.person_id AND b.from_service = a.to_service
              AND b.to_service = a.from_service AND {_after("b", "a")}
            JOIN referral_state c ON c.person_id = a.person_id AND c.from_service = a.from_service
              AND c.to_service = a.to_service AND {_after("c", "b")}
            WHERE a.from_service <> '' AND a.to_service <> '' AND a.from_service <> a.to_service
              AND c.authored_day - a.authored_day <= {window}""",
        )
        ping_pong = Step(
            "ping_pong",
            """SELECT DISTINCT anchor, referral_id FROM (
              SELECT anchor, r1 AS referral_id FROM ping_pong_triples
              UNION ALL SELECT anchor, r2 AS referral_id FROM ping_pong_triples
              UNION ALL SELECT anchor, r3 AS referral_id FROM ping_pong_triples
            ) x""",
        )
        ping_pong_rows = Step(
            "loop_ping_pong",
            f"""SELECT {_row("s", "loop", "ping-pong", "p.anchor", NULL_INT, str(window), NULL_INT)}
            FROM ping_pong p JOIN referral_state s ON s.referral_id = p.referral_id""",
        )
        parts = ("loop_reason", "loop_ping_pong", "lost_unbooked", "lost_dna", "no_outcome", "validation_due")
        findings = Step(
            "findings",
            " UNION ALL ".join(f"SELECT {_COLUMNS} FROM {name}" for name in parts),
            materialize=True,
        )
        return (
            referral_state,
            booked_step,
            dna,
            rebooked,
            lost,
            lost_dna,
            letters,
            no_outcome,
            validation,
            loop_pairs,
            loop_rows,
            triples,
            ping_pong,
            ping_pong_rows,
            findings,
        )

    def output_query(self) -> str:
        return f"SELECT {_COLUMNS} FROM findings ORDER BY {FINDING_ORDER}"


def shape(table: pa.Table) -> pa.Table:
    """An engine's answer (already in :data:`FINDING_ORDER`) as :data:`FINDING_SCHEMA`."""
    columns = [table.column(f.name).cast(f.type) for f in FINDING_SCHEMA]
    return pa.Table.from_arrays(columns, schema=FINDING_SCHEMA)
