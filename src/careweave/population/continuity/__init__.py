"""Continuity of care (issue 17, ADR 0014), Django-free: from one row per contact (person, date,
clinician) to each person's indices: contacts, clinicians, UPC, Bice-Boxerman COC, HHI, MMCI and SECON.

- ``extract``: the contact table's Arrow schema and the reader of a ``person,date,clinician`` CSV;
- ``spec``: the indices as portable SQL steps; formulas and sources in the reviewed
  ``terminology/data/continuity.yaml``;
- ``engines``: DuckDB and Spark run the same steps;
- ``sentence``: "saw their usual GP at 7 of their last 10 appointments", for the person's summary;
- ``commands``: ``careweave measures continuity FILE.csv`` (no database needed).

Imports only ``careweave.terminology`` and ``careweave.population`` helpers. Who may import it: the
record's side (``careweave.web``), the CLI, tests and ``bench/``.
"""

from . import synthetic
from .engines import PersonContinuity, indices, run_duckdb, run_spark
from .extract import CONTACT_SCHEMA, ContactFileError, contacts, read_contacts_csv
from .spec import INDICES_SCHEMA, ContinuityQuestion

__all__ = [
    "CONTACT_SCHEMA",
    "INDICES_SCHEMA",
    "ContactFileError",
    "ContinuityQuestion",
    "PersonContinuity",
    "contacts",
    "indices",
    "read_contacts_csv",
    "run_duckdb",
    "run_spark",
    "synthetic",
]
