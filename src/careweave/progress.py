"""Progress shown by long commands: the stderr console and progress bar shared by `cli` and `demo`.

Its own module so that `demo` (called by the CLI) does not import `cli` back. Output goes to stderr,
so a command's --json output on stdout stays clean. Django-free; imports only rich.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


def progress_bar(on: Console | None = None) -> Progress:
    """The progress bar of every long command (to stderr, so --json output stays clean)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=on or console,
        transient=False,
    )
