"""A chunk of people into FHIR: counts of contacts drawn for the whole chunk, then each person's steps.

Per-person detail uses a `random.Random` seeded from (seed, person index): scalar draws in pure
Python are an order of magnitude cheaper than numpy scalar calls, and seeding per person keeps a
person's record independent of chunking.
"""

from __future__ import annotations

from datetime import date
from typing import BinaryIO

import numpy as np

from careweave.synth.build.batch import Batch
from careweave.synth.build.conditions import add_conditions
from careweave.synth.build.contacts import add_contacts
from careweave.synth.build.context import PersonContext, RunContext
from careweave.synth.build.findings import add_findings
from careweave.synth.build.monitoring import add_monitoring
from careweave.synth.build.patient import add_patient
from careweave.synth.build.referrals import add_referrals
from careweave.synth.build.social import add_social
from careweave.synth.cohort import Cohort
from careweave.synth.organisations import Economy
from careweave.synth.parameters import Parameters


class RecordBuilder:
    """Turns sampled people into FHIR resources. One instance per run."""

    def __init__(self, *, params: Parameters, economy: Economy, seed: int, reference_date: date) -> None:
        self.run = RunContext(params=params, economy=economy, seed=seed, reference_date=reference_date)

    def build(
        self,
        cohort: Cohort,
        nhs_numbers: list[str],
        rng: np.random.Generator,
        sinks: dict[str, BinaryIO] | None = None,
    ) -> Batch:
        run = self.run
        batch = Batch(sinks=sinks)
        util = run.util
        n_cond = cohort.traits[:, : run.n_conditions].sum(axis=1)
        alive_days = np.minimum(run.history_days, cohort.birth_days_ago) - np.maximum(cohort.died_days_ago, 0)
        years = np.maximum(alive_days, 0) / 365.0
        over_50 = np.maximum(cohort.age - 50, 0) / 10.0
        deprivation = 5.5 - cohort.decile
        # Counts are drawn vectorised; details per person below.
        gp_rate = (
            util["gp_base_per_year"]
            + util["gp_per_condition"] * n_cond
            + util["gp_per_decade_over_50"] * over_50
        )
        n_gp = rng.poisson(gp_rate * years)
        unplanned_mult = np.maximum(0.2, 1.0 + util["deprivation_unplanned_per_decile"] * deprivation)
        ae_rate = (
            util["ae_base_per_year"] + util["ae_per_condition"] * n_cond + 0.03 * over_50
        ) * unplanned_mult
        n_ae = rng.poisson(ae_rate * years)
        n_elective = rng.poisson(util["elective_admission_per_year"] * (1 + 0.3 * n_cond) * years)
        for i in range(len(cohort)):
            p = PersonContext.of(run, batch, cohort, i)
            # The order of the steps is the order of the random draws: keep it.
            add_patient(p, nhs_numbers[i])
            add_conditions(p)
            add_social(p)
            add_findings(p)
            add_monitoring(p)
            add_contacts(p, int(n_gp[i]), int(n_ae[i]), int(n_elective[i]))
            add_referrals(p)
        batch.flush()
        return batch
