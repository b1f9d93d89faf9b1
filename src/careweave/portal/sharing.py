"""What a carer with proxy access must not see, whatever the person agreed to share: items coded as
safeguarding or sexual health (``terminology/data/proxy_sensitive.yaml``) and items a clinician marked
(``HiddenFromProxy``). The person themselves sees all of their own items."""

from __future__ import annotations

from careweave.portal.models import HiddenFromProxy
from careweave.record import models as rm
from careweave.terminology.models import SNOMED
from careweave.terminology.proxy_sensitive import proxy_sensitive


def marked_resources(person: rm.Person) -> set[int]:
    """The stored resources of this person a clinician hid from proxies."""
    return set(HiddenFromProxy.objects.filter(person=person).values_list("resource_id", flat=True))


def sensitive_code(system: str, code: str) -> bool:
    return bool(code) and proxy_sensitive().category_of(system or SNOMED, code) is not None


def person_has_sensitive_reason(person: rm.Person) -> set[str]:
    """The sensitive condition codes in this person's record: a medicine or referral for one of them
    is hidden from proxies too (a referral's reason code, which the record keeps without its system)."""
    sensitive = {code for _system, code in proxy_sensitive().codes}
    return set(person.conditions.filter(code__in=sensitive).values_list("code", flat=True))


def hidden_from_proxy(*, resource_id: int, system: str = "", code: str = "", marked: set[int]) -> bool:
    return resource_id in marked or sensitive_code(system, code)
