"""Population analytics, pure and Django-free: from an extract of the record to features, the MLTC
register, latent class clusters and worklists.

It owns the computation only, on Arrow tables in and Arrow tables (or plain values) out:

- ``extract_schema``: the extract's tables and types (the input contract); ``synthetic_extract``
  generates one for tests and benchmarks;
- ``features``: the question (the clinical knowledge, the reference date, the output schemas);
  ``sql``: the SQL builders by topic; ``engines``: DuckDB and Spark run them; ``compute``: the entry
  points (``compute_features``, ``compute_register``, ``compute_population``, ``pattern_counts``,
  ``assign``);
- ``register``: the register in words; ``lca``: latent class analysis; ``cluster_description``:
  clusters described for staff; ``worklists``: the proactive care lists; ``segment``: the whole
  pipeline in one call.

It imports no Django and nothing else of CareWeave but ``careweave.terminology`` (the reviewed
clinical knowledge). Arrows run one way: ``engines`` imports ``features`` and ``sql``; ``features``
and ``sql`` never import an engine.

``careweave.segmentation`` is its Django side: it builds the extract from the record, runs this
package, and stores versioned runs, assignments and worklist overrides. Who may import
``population``: ``segmentation``, the CLI (``careweave lca fit``), tests and ``bench/``. Web views
read stored runs through ``segmentation``, never this package directly.
"""
