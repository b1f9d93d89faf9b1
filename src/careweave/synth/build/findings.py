"""Findings: the symptoms and events the eFI counts, falls (which recur) and the palliative care
register, each an Observation (category exam) coded as practices code them."""

from __future__ import annotations

from careweave.synth.build.codes import EXAM
from careweave.synth.build.context import PersonContext


def add_findings(p: PersonContext) -> None:
    run, rnd, traits = p.run, p.rnd, p.traits
    first = run.n_conditions + len(run.social)
    for k, trait in enumerate(run.findings):
        if not traits[first + k]:
            continue
        times = 1
        if trait.repeat:
            while times < 6 and rnd.random() < 0.35:
                times += 1
        for _ in range(times):
            p.add_coded_observation("f", EXAM, run.finding_code[k])
