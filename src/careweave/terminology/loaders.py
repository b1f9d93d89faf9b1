"""Load and validate the reviewed terminology data files (``data/*.yaml``).

Each loader takes an optional path (tests pass malformed files) and is cached; with no path it reads
the packaged file. Loads are strict: a missing field, an unknown key, a missing citation, a duplicate
code or a dangling reference raises ``TerminologyError`` naming the file and the field.

This module owns no code: it is the stable place to import the loaders from. Each file's loader lives
in ``loading/`` by topic (``conditions``, ``medicines``, ``frailty``, ``social``, ``worklists``,
``monitoring``; ``common`` for the file locations and the ECL expansion). Each name is re-exported
explicitly (``import x as x``), so this module needs no ``__all__``.
"""

from __future__ import annotations

from ._schema import TerminologyError as TerminologyError
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
from .loading.conditions import load_active_clinical_statuses as load_active_clinical_statuses
from .loading.conditions import load_condition_library as load_condition_library
from .loading.frailty import load_fall_codes as load_fall_codes
from .loading.frailty import load_frailty_index as load_frailty_index
from .loading.medicines import load_medicine_classes as load_medicine_classes
from .loading.monitoring import load_key_measurements as load_key_measurements
from .loading.monitoring import load_monitoring_requirements as load_monitoring_requirements
from .loading.social import SOCIAL_NEED_FEATURES as SOCIAL_NEED_FEATURES
from .loading.social import load_social_needs as load_social_needs
from .loading.worklists import WORKLIST_FEATURES as WORKLIST_FEATURES
from .loading.worklists import load_removal_settings as load_removal_settings
from .loading.worklists import load_unplanned_care as load_unplanned_care
from .loading.worklists import load_worklist_rules as load_worklist_rules
