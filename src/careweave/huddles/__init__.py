"""MDT huddles: members from any organisation, agendas from the worklists, outcomes that become tasks.

Composes `care` (care-plan actions on "my tasks") and `segmentation` (agenda suggestions from worklists);
imported by `web`; imports `ui`, `governance`, `record`.
"""
