"""One way to contact a person (issue 18, ADR 0020): every outbound communication (review invitations,
appointment reminders, results letters, care plan copies) goes through `services.contact_person`,
which plans the route with the Django-free `careweave.population.contact` from the person's recorded
needs (Accessible Information Standard codes, language, digital access, carer), sends through GOV.UK
Notify's client (`notify`; `notify_standin` is the local stand-in server) or makes a staff Task, and
records each attempt as a FHIR Communication with its CommunicationRequest. `letters` renders the
accessible, tagged PDF letters.

Imports `record`, `governance`, `ui` and the Django-free core; imported by `web` (the summary's
timeline and needs), `huddles` (interpreter flags) and the CLI.
"""
