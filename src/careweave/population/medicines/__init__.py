"""The medicines review (issue 13, ADR 0017), Django-free: current medicines as a pharmacist means
them, and the rules of ``terminology/data/medicines_rules.yaml`` (PINCER, STOPP/START v3 subset,
anticholinergic burden, duplication, polypharmacy and falls-risk medicines) as findings.

- ``inputs``: the population extract as the review's four tables (dates as day numbers, so DuckDB
  and Spark do the same integer arithmetic), with the course (repeat or acute) where recorded;
- ``spec``: the rules compiled to portable SQL steps;
- ``engines``: DuckDB and Spark run the same steps;
- ``findings``: the engines' rows as one explained, cited finding each.

Imports only ``careweave.terminology`` and the population extract contract. Who may import it:
``careweave.medicines`` (the record's side), tests and ``bench/``.
"""

from .engines import review, run
from .findings import Finding
from .inputs import ReviewInputs
from .spec import MedicinesReview

__all__ = ["Finding", "MedicinesReview", "ReviewInputs", "review", "run"]
