"""CareWeave clinical terminology: the condition library and clinical rules as reviewed, cited data.

Django-free. Everything here is read from ``data/*.yaml``, schema-validated on load and cached.
"""

from ._schema import TerminologyError
from .loaders import (
    WORKLIST_FEATURES,
    load_condition_library,
    load_fall_codes,
    load_frailty_index,
    load_medicine_classes,
    load_monitoring_requirements,
    load_social_needs,
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
    "WORKLIST_FEATURES",
    "ConditionDefinition",
    "ConditionLibrary",
    "ExcludedCode",
    "FrailtyDeficit",
    "FrailtyIndex",
    "MedicineClass",
    "MedicineRule",
    "MonitoringRequirement",
    "ReviewRecord",
    "SocialNeed",
    "TerminologyError",
    "WorklistCriterion",
    "WorklistRule",
    "load_condition_library",
    "load_fall_codes",
    "load_frailty_index",
    "load_medicine_classes",
    "load_monitoring_requirements",
    "load_social_needs",
    "load_worklist_rules",
]
