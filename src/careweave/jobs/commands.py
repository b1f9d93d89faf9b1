"""``careweave worker``: the task queue's worker and its scheduler. The CLI registers it with one
line, handing in its Django setup (this app may not import the CLI)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Annotated

import typer

from careweave.progress import console


def build_worker_command(setup_django: Callable[[], None]) -> Callable[..., None]:
    def worker(
        once: Annotated[
            bool, typer.Option("--once", help="Run what is due now, then exit (for cron and tests)")
        ] = False,
        schedule: Annotated[
            bool,
            typer.Option(
                "--schedule/--no-schedule",
                help="Enqueue the nightly refresh, and one at start when the lists are over a day old",
            ),
        ] = True,
        interval: Annotated[
            float, typer.Option(help="Seconds between looks at the queue when idle", min=0.1)
        ] = 5.0,
    ) -> None:
        """Run background work: the population refresh after imports, nightly, and at start when
        the lists are more than a day old. Ctrl-C stops it after the task it is running."""
        setup_django()
        from careweave.jobs.worker import run_worker

        try:
            done = run_worker(once=once, schedule=schedule, interval=interval, say=console.print)
        except KeyboardInterrupt:
            console.print("Worker stopped.")
            return
        for note in done.notes:
            console.print(note)
        console.print(
            f"Worker: {done.enqueued} enqueued by the schedule, {done.ran} tasks run, {done.failed} failed"
        )
        if done.failed:
            raise typer.Exit(1)

    return worker


@contextlib.contextmanager
def worker_beside() -> Iterator[None]:
    """``careweave worker`` in a child process for as long as the block runs (``careweave demo``
    serves inside it): Ctrl-C reaches both, and the worker is stopped with the server however the
    server ends."""
    child = subprocess.Popen([sys.executable, "-m", "careweave.cli", "worker"])  # noqa: S603 (our own command)
    # SIGTERM (a service manager, `kill`) ends the block like Ctrl-C, so the worker is stopped too
    before = signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
        if child.poll() is None:
            child.terminate()  # SIGTERM: it finishes the task it is running, then stops
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
