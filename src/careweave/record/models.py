"""The shared care record.

Two layers (see docs/adr/0001-resource-store-and-record-projection.md):

- `StoredResource`: every FHIR resource we were sent, as stored (references rewritten to our own
  ids), with its provenance (source system and the id it had there), version and content hash.
  This is what the FHIR API serves and what makes imports idempotent.
- The record projection: typed rows (`Person`, `Condition`, `Medication`...) that the application
  queries. Each points back to the resource it came from, so every item has provenance.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from careweave.terminology.loading.units import load_units


class Sector(models.TextChoices):
    GENERAL_PRACTICE = "general-practice", "General practice"
    COMMUNITY = "community", "Community health"
    ACUTE = "acute", "Acute hospital"
    MENTAL_HEALTH = "mental-health", "Mental health"
    SOCIAL_CARE = "social-care", "Social care"
    VOLUNTARY = "voluntary", "Voluntary and community"
    PRIVATE = "private", "Private provider"
    PHARMACY = "pharmacy", "Pharmacy"
    UNKNOWN = "unknown", "Unknown"


class StoredResource(models.Model):
    resource_type = models.CharField(max_length=64)
    logical_id = models.CharField(max_length=64)
    source_system = models.CharField(max_length=255)
    source_id = models.CharField(max_length=255)
    version = models.PositiveIntegerField(default=1)
    content_hash = models.CharField(max_length=64)
    superseded_hashes = models.TextField(
        blank=True,
        default="",
        help_text="Hashes of earlier versions: a stale copy sent again is not a change.",
    )
    body = models.TextField(help_text="The resource as JSON text, references rewritten to our ids.")
    person = models.ForeignKey(
        "Person", null=True, blank=True, on_delete=models.CASCADE, related_name="resources"
    )
    last_updated = models.DateTimeField()
    modelled = models.BooleanField(
        default=True, help_text="False when kept raw (a type the record does not model)."
    )
    # Who asserted this version, for the access rules (ADR 0006): a care relationship that a member of
    # staff's own write would give their own organisation, or any written under break-glass, grants
    # nothing. Plain values, not foreign keys: they describe the write, whatever happens to the rows.
    author_organisation = models.BigIntegerField(
        null=True, blank=True, help_text="Organisation of the member of staff who wrote it through the API."
    )
    written_under_break_glass = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # The selective id leads: PostgreSQL then always looks ids up through the index, even
            # when its statistics are stale in the middle of a bulk load (ADR 0002).
            models.UniqueConstraint(
                fields=["logical_id", "resource_type"], name="resource_logical_id_unique"
            ),
            models.UniqueConstraint(
                fields=["source_id", "resource_type", "source_system"], name="resource_source_identity_unique"
            ),
        ]
        # No index may lead with resource_type alone: with stale statistics PostgreSQL would pick it and
        # filter ids row by row. Type-wide listings page through the primary key instead.
        indexes = [models.Index(fields=["person", "resource_type"])]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.logical_id}"


class SourceAlias(models.Model):
    """Another source's identity for a resource we already hold (matched on a business identifier,
    e.g. the same NHS number sent by the hospital and by the practice)."""

    resource = models.ForeignKey(StoredResource, on_delete=models.CASCADE, related_name="aliases")
    source_system = models.CharField(max_length=255)
    resource_type = models.CharField(max_length=64)
    source_id = models.CharField(max_length=255)
    content_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_id", "resource_type", "source_system"], name="alias_unique"
            )
        ]


class ResourceIdentifier(models.Model):
    """Business identifiers (system|value) of stored resources, for conditional create/update and search."""

    resource = models.ForeignKey(StoredResource, on_delete=models.CASCADE, related_name="identifiers")
    resource_type = models.CharField(max_length=64)
    system = models.CharField(max_length=255)
    value = models.CharField(max_length=255)

    class Meta:
        indexes = [models.Index(fields=["value", "resource_type", "system"])]


class Organisation(models.Model):
    resource = models.OneToOneField(StoredResource, on_delete=models.CASCADE, related_name="organisation")
    name = models.CharField(max_length=255, blank=True)
    ods_code = models.CharField(max_length=32, blank=True, db_index=True)
    sector = models.CharField(max_length=32, choices=Sector.choices, default=Sector.UNKNOWN)

    def __str__(self) -> str:
        return self.name or self.resource.logical_id


class Practitioner(models.Model):
    resource = models.OneToOneField(StoredResource, on_delete=models.CASCADE, related_name="practitioner")
    name = models.CharField(max_length=255, blank=True)
    identifier = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.name or self.resource.logical_id


class PractitionerRole(models.Model):
    resource = models.OneToOneField(
        StoredResource, on_delete=models.CASCADE, related_name="practitioner_role"
    )
    practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.SET_NULL)
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL)
    role_code = models.CharField(max_length=64, blank=True)
    role_display = models.CharField(max_length=255, blank=True)


class DigitalAccess(models.TextChoices):
    ONLINE = "online", "Online"
    PHONE_ONLY = "phone-only", "Phone only"
    NONE = "none", "No digital access"
    UNKNOWN = "", "Not recorded"


class Person(models.Model):
    resource = models.OneToOneField(StoredResource, on_delete=models.CASCADE, related_name="person_record")
    nhs_number = models.CharField(max_length=10, null=True, blank=True, unique=True)
    other_identifiers = models.JSONField(default=list, blank=True)
    given_name = models.CharField(max_length=255, blank=True)
    family_name = models.CharField(max_length=255, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=16, blank=True)
    ethnicity_code = models.CharField(max_length=16, blank=True)
    ethnicity_display = models.CharField(max_length=255, blank=True)
    address_text = models.CharField(max_length=512, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    lsoa = models.CharField(max_length=16, blank=True)
    imd_decile = models.PositiveSmallIntegerField(null=True, blank=True)
    registered_practice = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="registered_people"
    )
    preferred_language = models.CharField(max_length=32, blank=True)
    interpreter_required = models.BooleanField(null=True, blank=True)
    accessible_information_needs = models.JSONField(default=list, blank=True)
    digital_access = models.CharField(max_length=16, choices=DigitalAccess.choices, blank=True)
    national_data_opt_out = models.BooleanField(default=False)
    deceased = models.BooleanField(default=False)
    deceased_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["family_name", "given_name"]), models.Index(fields=["birth_date"])]

    def __str__(self) -> str:
        return f"Person {self.pk}"  # never a name: str() ends up in logs

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip() or "(no name recorded)"


class PersonItem(models.Model):
    """Common shape of every clinical or social item in a person's record."""

    resource = models.OneToOneField(StoredResource, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class CodedItem(PersonItem):
    """An item named by one coding (SNOMED CT, dm+d...): its system, code and the display sent with it."""

    system = models.CharField(max_length=255, blank=True)
    code = models.CharField(max_length=64, blank=True)
    display = models.CharField(max_length=512, blank=True)

    class Meta:
        abstract = True


class Condition(CodedItem):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="conditions")
    clinical_status = models.CharField(max_length=32, blank=True)
    verification_status = models.CharField(max_length=32, blank=True)
    onset = models.DateField(null=True, blank=True)
    abatement = models.DateField(null=True, blank=True)
    recorded_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["code", "system"])]


class Medication(CodedItem):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="medications")
    kind = models.CharField(max_length=32)  # MedicationRequest | MedicationStatement
    dose_text = models.CharField(max_length=512, blank=True)
    status = models.CharField(max_length=32, blank=True)
    course = models.CharField(max_length=32, blank=True)
    authored_on = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    prescriber = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        indexes = [models.Index(fields=["code", "system"])]


class Observation(PersonItem):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="observations")
    resource = models.ForeignKey(
        StoredResource, on_delete=models.CASCADE, related_name="+"
    )  # panels give several rows
    component_of = models.CharField(
        max_length=64, blank=True, help_text="Panel code when this row is a component."
    )
    category = models.CharField(max_length=64, blank=True)
    system = models.CharField(max_length=255, blank=True)
    code = models.CharField(max_length=64, blank=True)
    display = models.CharField(max_length=512, blank=True)
    status = models.CharField(max_length=32, blank=True)
    effective = models.DateTimeField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True, help_text="The value as sent.")
    unit = models.CharField(max_length=64, blank=True, help_text="The unit as sent.")
    value_text = models.CharField(max_length=512, blank=True)
    # The value in the record's canonical unit for the code (terminology/data/units.yaml): converted,
    # never relabelled. Null unless unit_status is "canonical" or "converted"; trends and population
    # features read only these.
    value_canonical = models.FloatField(null=True, blank=True)
    unit_canonical = models.CharField(max_length=64, blank=True, help_text="UCUM code of the canonical unit.")
    unit_status = models.CharField(
        max_length=32,
        blank=True,
        help_text="canonical | converted | unrecognised (shown as sent, flagged) | no-canonical-unit | blank: no value.",
    )

    class Meta:
        indexes = [models.Index(fields=["person", "code"]), models.Index(fields=["code", "system"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Rows written one by one (not by the importer, which converts in the projection) are converted
        here, so no row ever lacks its canonical value."""
        if self.value is not None and not self.unit_status:
            conversion = load_units().convert(self.system, self.code, self.value, [self.unit])
            self.value_canonical, self.unit_canonical = conversion.value, conversion.unit
            self.unit_status = conversion.status
        super().save(*args, **kwargs)


class Encounter(PersonItem):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="encounters")
    status = models.CharField(max_length=32, blank=True)
    class_code = models.CharField(max_length=16, blank=True)
    type_code = models.CharField(max_length=64, blank=True)
    type_display = models.CharField(max_length=512, blank=True)
    priority = models.CharField(max_length=16, blank=True)
    unplanned = models.BooleanField(default=False)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL)
    practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        # (person, organisation) answers "has this organisation seen this person?" for access checks
        indexes = [models.Index(fields=["person", "start"]), models.Index(fields=["person", "organisation"])]


class Appointment(PersonItem):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="appointments")
    status = models.CharField(max_length=32, blank=True)
    description = models.CharField(max_length=512, blank=True)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.SET_NULL)
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        indexes = [models.Index(fields=["person", "organisation"])]


class Referral(PersonItem):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="referrals")
    status = models.CharField(max_length=32, blank=True)
    priority = models.CharField(max_length=32, blank=True)
    code_display = models.CharField(max_length=512, blank=True)
    reason_code = models.CharField(max_length=64, blank=True)
    reason_display = models.CharField(max_length=512, blank=True)
    authored_on = models.DateField(null=True, blank=True)
    from_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals_sent"
    )
    from_practitioner = models.ForeignKey(Practitioner, null=True, blank=True, on_delete=models.SET_NULL)
    to_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals_received"
    )
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # False for a request that is not a referral to another service: a blood-test or imaging
    # requisition (a review's one blood draw, issue 14) is a ServiceRequest too, but nobody waits on it
    is_referral = models.BooleanField(default=True)


class SocialCircumstance(CodedItem):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="social_circumstances")
    resource = models.ForeignKey(StoredResource, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=64)
    recorded = models.DateField(null=True, blank=True)


class RelatedPerson(PersonItem):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="related_people")
    name = models.CharField(max_length=255, blank=True)
    relationship_code = models.CharField(max_length=64, blank=True)
    relationship_display = models.CharField(max_length=255, blank=True)
    is_carer = models.BooleanField(default=False)
    is_next_of_kin = models.BooleanField(default=False)
    telecom = models.CharField(max_length=255, blank=True)


class Allergy(CodedItem):
    """An AllergyIntolerance: what a clinician must see before prescribing or treating."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="allergies")
    clinical_status = models.CharField(max_length=32, blank=True)
    verification_status = models.CharField(max_length=32, blank=True)
    criticality = models.CharField(max_length=32, blank=True)  # low | high | unable-to-assess
    category = models.CharField(max_length=64, blank=True)  # food, medication... space-separated
    onset = models.DateField(null=True, blank=True)
    recorded_date = models.DateField(null=True, blank=True)
    reactions = models.CharField(max_length=512, blank=True, help_text="Manifestations, '; '-separated.")

    class Meta:
        indexes = [models.Index(fields=["code", "system"])]


class Flag(CodedItem):
    """A Flag: a warning about the person (safety, behaviour, infection control...) for everyone who sees them."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="flags")
    status = models.CharField(max_length=32, blank=True)  # active | inactive | entered-in-error
    category = models.CharField(max_length=64, blank=True)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)


PERSON_ITEM_MODELS: tuple[type[models.Model], ...] = (
    Condition,
    Medication,
    Observation,
    Encounter,
    Appointment,
    Referral,
    SocialCircumstance,
    RelatedPerson,
    Allergy,
    Flag,
)


class CareRelationship(models.Model):
    """Derived from the rows above: this organisation has this person in its care, because the person is
    registered there or has had an encounter, an appointment, or a referral to or from it.

    Access rules read it (governance.access): "the people in my organisation's care" is then one index
    range instead of a scan of every encounter, appointment and referral on each request. It is kept
    in step by careweave.record.relationships whenever those rows are written or deleted.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            # leads with the organisation: the access question is "who is in this organisation's care?"
            models.UniqueConstraint(fields=["organisation", "person"], name="care_relationship_unique")
        ]

    def __str__(self) -> str:
        return f"CareRelationship {self.organisation_id}/{self.person_id}"
