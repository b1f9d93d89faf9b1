"""The referral scan (issue 15, ADR 0012), Django-free: from an extract of referrals, their Tasks,
appointments, validations and outcome letters to findings, each explained and cited.

- ``extract``: the input tables and their Arrow schemas (dates as day numbers, so every engine does
  the same integer arithmetic);
- ``spec``: the four findings (loop, lost, no-outcome, validation-due) as portable SQL steps, with
  their thresholds from the reviewed ``terminology/data/referral_rules.yaml``;
- ``engines``: DuckDB and Spark run the same steps;
- ``findings``: the engines' rows as one finding each, in plain words with dates and the citation.

Imports only ``careweave.terminology`` and ``careweave.population.sql.common`` (the dialects).
Who may import it: ``careweave.referrals`` (the record's side), the CLI, tests and ``bench/``.
"""

from .engines import scan
from .extract import ReferralExtract, day_number
from .findings import Finding
from .spec import ReferralScan

__all__ = ["Finding", "ReferralExtract", "ReferralScan", "day_number", "scan"]
