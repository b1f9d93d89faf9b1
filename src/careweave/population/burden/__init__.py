"""The burden of care as the person lives it (issue 17, item 3), Django-free: per person over a
period, contacts with services (and per year), organisations and clinicians seen, days with a contact,
and tests repeated at another organisation within a reviewed interval (the duplicated-test flag).

- ``spec``: the measures as portable SQL steps over two tables (``contact``, ``test``), the
  intervals and test codes from the reviewed ``terminology/data/care_burden.yaml``;
- ``engines``: DuckDB and Spark run the same steps (parity: ``tests/population/test_burden.py``).

Imports only ``careweave.terminology`` and ``careweave.population`` helpers.
"""

from .engines import run_duckdb, run_spark
from .spec import BURDEN_SCHEMA, CONTACT_SCHEMA, DUPLICATE_SCHEMA, TEST_SCHEMA, BurdenQuestion

__all__ = [
    "BURDEN_SCHEMA",
    "CONTACT_SCHEMA",
    "DUPLICATE_SCHEMA",
    "TEST_SCHEMA",
    "BurdenQuestion",
    "run_duckdb",
    "run_spark",
]
