"""Questionnaires as FHIR (issue 17, item 1; ADR 0022): Questionnaire definitions as data (FHIR R4 JSON,
scored with the SDC `ordinalValue` and `calculatedExpression` extensions), loaded by a loader that
refuses a definition without a licence or a source; answers as QuestionnaireResponse validated
against their Questionnaire (all or nothing, an OperationOutcome naming the item), scored, and
written into the record with coded Observations through the importer, as any sender's write.

Also holds the precomputed aggregates of the analysts' outcomes page (`OutcomeSnapshot`), which
`careweave.web.outcomes*` computes and reads.

Imports `record`, `governance` and the FHIR importer and registry (the provider of Questionnaire and
QuestionnaireResponse at /fhir, the one arrow to the interface, as `care.api`'s); imported by `web`,
the CLI and the person's view.
"""
