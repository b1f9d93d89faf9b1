"""Load and validate the reviewed terminology data files (``data/*.yaml``).

Each loader takes an optional path (tests pass malformed files) and is cached; with no path it reads
the packaged file. Loads are strict: a missing field, an unknown key, a missing citation, a duplicate
code or a dangling reference raises ``TerminologyError`` naming the file and the field.

This module owns no code: it is the stable place to import the loaders from. Each file's loader lives
in ``loading/`` by topic (``conditions``, ``medicines``, ``frailty``, ``social``, ``worklists``,
``monitoring``; ``common`` for the file locations and the ECL expansion).
"""

from __future__ import annotations

from ._schema import TerminologyError
from .loading.common import CONDITIONS_FILE as CONDITIONS_FILE
from .loading.common import DATA_DIR as DATA_DIR
from .loading.common import FRAILTY_FILE as FRAILTY_FILE
from .loading.common import KEY_MEASUREMENTS_FILE as KEY_MEASUREMENTS_FILE
from .loading.common import MEDICINE_CLASSES_FILE as MEDICINE_CLASSES_FILE
from .loading.common import MONITORING_FILE as MONITORING_FILE
from .loading.common import SOCIAL_NEEDS_FILE as SOCIAL_NEEDS_FILE
from .loading.common import WORKLIST_RULES_FILE as WORKLIST_RULES_FILE
from .loading.conditions import BODY_SYSTEMS as BODY_SYSTEMS
from .loading.conditions import CONDITION_CLINICAL_STATUSES as CONDITION_CLINICAL_STATUSES
from .loading.conditions import load_active_clinical_statuses, load_condition_library
from .loading.frailty import load_fall_codes, load_frailty_index
from .loading.medicines import load_medicine_classes
from .loading.monitoring import load_key_measurements, load_monitoring_requirements
from .loading.social import SOCIAL_NEED_FEATURES, load_social_needs
from .loading.worklists import (
    WORKLIST_FEATURES,
    load_removal_settings,
    load_unplanned_care,
    load_worklist_rules,
)

__all__ = [
    "SOCIAL_NEED_FEATURES",
    "TerminologyError",
    "WORKLIST_FEATURES",
    "load_active_clinical_statuses",
    "load_condition_library",
    "load_fall_codes",
    "load_frailty_index",
    "load_key_measurements",
    "load_medicine_classes",
    "load_monitoring_requirements",
    "load_social_needs",
    "load_removal_settings",
    "load_unplanned_care",
    "load_worklist_rules",
]
