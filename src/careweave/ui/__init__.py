"""The UI kernel every workspace app uses: formatting (dates, NHS numbers, ages, staff names), the
guards that let a view run and translate `AccessRefused` into the 403 page, the htmx request type,
and the page frame (`ui/base.html`, messages, the refusal pages).

Feature apps (`care`, `huddles`) and the workspace (`web`) import it; it imports none of them, only
`governance` (what a user may do) and `record` (the models it formats), so no arrow runs back up.
"""
