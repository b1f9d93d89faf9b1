"""Validation of a Bulk Data set's lines in worker processes, ahead of planning (issue 11, item 3).

Validation (the fhir.resources models and the R4 rules) is most of a load's CPU time; it needs
nothing but the line, so chunks of lines are validated in a pool of processes while the planner works
through earlier chunks in order. The issues are the ones `validate_entry` gives in-process, naming
the same file, line and element; the planner uses them as if it had validated the entry itself.
A file of a single chunk is validated in-process (no pool to start for a small load).

`WORKERS` (default: the CPU count, at most 4) is how many; 1 validates everything in-process.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

import orjson

from careweave.fhir.imports.unit import Entry
from careweave.fhir.imports.validation import validate_entry
from careweave.fhir.outcome import Issue

WORKERS = min(4, os.cpu_count() or 1)
CHUNK = 2000

Line = tuple[int, bytes]
Checked = tuple[str, list[Issue]] | None  # (resource type, problems), None: validate in-process

_pool: ProcessPoolExecutor | None = None


def _validate(job: tuple[str | None, str | None, list[Line]]) -> list[Checked]:
    name, expected, lines = job
    out: list[Checked] = []
    for line_no, line in lines:
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError:
            out.append(None)  # the planner reports broken JSON itself
            continue
        entry = Entry(index=line_no, resource=resource)
        problems = validate_entry(entry, name, expected)
        out.append((entry.resource_type, problems))
    return out


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # fork: the workers start with the modules already imported (and no database use of their own)
        _pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("fork"))
        atexit.register(_pool.shutdown, cancel_futures=True)
    return _pool


def validated_chunks(
    lines: Iterable[Line], name: str | None, expected: str | None
) -> Iterator[tuple[list[Line], list[Checked]]]:
    """The file's lines in chunks, in order, each with its validation (None where not done ahead)."""
    source = iter(lines)
    first = list(islice(source, CHUNK))
    if WORKERS <= 1 or len(first) < CHUNK:
        yield first, [None] * len(first)
        while chunk := list(islice(source, CHUNK)):
            yield chunk, [None] * len(chunk)
        return
    pool = _executor()
    window: deque[tuple[list[Line], Future[list[Checked]]]] = deque()
    chunk = first
    while chunk:
        window.append((chunk, pool.submit(_validate, (name, expected, chunk))))
        if len(window) > WORKERS * 2:  # bounded read-ahead: memory stays a few chunks
            done, future = window.popleft()
            yield done, future.result()
        chunk = list(islice(source, CHUNK))
    while window:
        done, future = window.popleft()
        yield done, future.result()
