"""CareWeave clinical terminology: the condition library and clinical rules as reviewed, cited data.

Django-free. Everything here is read from ``data/*.yaml``, schema-validated on load and cached.
``Document`` (and ``validate_reviewed_file``) is the one schema check for every reviewed data file in
CareWeave, here and elsewhere (``synth/data``, ``population/data``): the review header, the
references table and a citation for every entry.
"""

from ._schema import Document, TerminologyError, validate_reviewed_file
from .loaders import (
    SOCIAL_NEED_FEATURES,
    WORKLIST_FEATURES,
    load_active_clinical_statuses,
    load_condition_library,
    load_fall_codes,
    load_frailty_index,
    load_key_measurements,
    load_medicine_classes,
    load_monitoring_requirements,
    load_removal_settings,
    load_social_needs,
    load_unplanned_care,
    load_worklist_rules,
)
from .models import (
    DMD,
    LOINC,
    RXNORM,
    SNOMED,
    ConditionDefinition,
    ConditionLibrary,
    ExcludedCode,
    FrailtyDeficit,
    FrailtyIndex,
    KeyMeasurement,
    MedicineClass,
    MedicineRule,
    MonitoringRequirement,
    ReviewRecord,
    SocialNeed,
    WorklistCriterion,
    WorklistRule,
)

__all__ = [
    "DMD",
    "LOINC",
    "RXNORM",
    "SNOMED",
    "SOCIAL_NEED_FEATURES",
    "WORKLIST_FEATURES",
    "ConditionDefinition",
    "ConditionLibrary",
    "Document",
    "ExcludedCode",
    "FrailtyDeficit",
    "FrailtyIndex",
    "KeyMeasurement",
    "MedicineClass",
    "MedicineRule",
    "MonitoringRequirement",
    "ReviewRecord",
    "SocialNeed",
    "TerminologyError",
    "WorklistCriterion",
    "WorklistRule",
    "load_active_clinical_statuses",
    "load_condition_library",
    "load_fall_codes",
    "load_frailty_index",
    "load_key_measurements",
    "load_medicine_classes",
    "load_monitoring_requirements",
    "load_removal_settings",
    "load_social_needs",
    "load_unplanned_care",
    "load_worklist_rules",
    "validate_reviewed_file",
]
