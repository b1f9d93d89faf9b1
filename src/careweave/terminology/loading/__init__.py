"""The loaders of the reviewed terminology data files (``terminology/data/*.yaml``), one module a topic.

``common`` (where the files are, the ECL expansion under a release), ``medicines``, ``conditions``
(the condition library, active clinical statuses, excluded codes), ``frailty`` (eFI, falls),
``social``, ``worklists`` and ``monitoring`` (monitoring requirements, key measurements). Import the
loaders from ``careweave.terminology`` (or ``careweave.terminology.loaders``); this package imports
none of its modules, so that they import each other without cycles.
"""
