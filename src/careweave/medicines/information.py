"""``why_taking(medicine)``: the plain-English note for the person about one of their medicines (what
it is for, how to take it, what to look out for), from the reviewed ``medicine_information.yaml``;
None where no class we describe covers the medicine. Django-free, in the terminology package, so the
printed care plan (``careweave.care``, a layer below this app) calls the same function."""

from careweave.terminology.loading.medicine_information import why_taking

__all__ = ["why_taking"]
