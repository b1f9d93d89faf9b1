"""``careweave worker``: the scheduler's ticks and the database backend's worker in one loop."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from careweave.governance.audit import record_system_event
from careweave.jobs import scheduler
from careweave.jobs.tasks import WORKER, runs_tasks_here

#: Seconds between looks at the queue and the clock when there is nothing to do.
INTERVAL = 5.0


@dataclass
class WorkerRun:
    """What one ``careweave worker`` did: counts only, for the audit and the command's summary."""

    enqueued: int = 0
    ran: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)


def _finished() -> tuple[int, int]:
    return DBTaskResult.objects.successful().count(), DBTaskResult.objects.failed().count()


def run_worker(
    *,
    once: bool,
    schedule: bool,
    interval: float = INTERVAL,
    say: Callable[[str], None] = lambda _s: None,
) -> WorkerRun:
    """With ``schedule``, enqueue a refresh at start if the lists are more than a day old and nightly
    after; run what is on the queue. ``once``: do what is due now, run the queue dry and return."""
    done = WorkerRun()
    here = runs_tasks_here()
    if not here:
        done.notes.append("tasks run on the configured backend's own workers; this one only schedules")
    if schedule and scheduler.at_start():
        done.enqueued += 1
        say("the lists are more than a day old: a refresh is enqueued")
    before = _finished() if here else (0, 0)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            if schedule and scheduler.tick():
                done.enqueued += 1
                say("nightly refresh enqueued")
            if schedule and scheduler.daily_check_in():
                done.enqueued += 1
                say("home-readings check-in enqueued")
            if here and not _drain():
                break
            if once:
                break
            time.sleep(interval)
    finally:
        for sig, handler in handlers.items():  # the worker's own, while it ran
            signal.signal(sig, handler)
        if here:
            after = _finished()
            done.ran, done.failed = after[0] - before[0], after[1] - before[1]
        record_system_event(
            "worker",
            WORKER,
            detail=f"{done.enqueued} enqueued by the schedule, {done.ran} tasks run, {done.failed} failed",
            outcome="success" if done.failed == 0 else "failure",
        )
    return done


def _drain() -> bool:
    """Run every task that is ready, then return (django-tasks-db's own worker, in batch mode);
    False once Ctrl-C or SIGTERM asked it to stop (the running task is finished first; a signal
    while idle exits at once)."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )
    worker.configure_signals()
    worker.run()
    return worker.running
