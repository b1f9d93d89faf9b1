"""The clinician's workspace: sign-in, the people in my care, the holistic summary, worklists, the
population view for analysts and the audit pages.

An interface: it may import `care`, `huddles`, `segmentation` and `ui`; none of them imports it.
"""
