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


def hidden_from_proxy(*, resource_id: int, system: str = "", code: str = "", marked: set[int]) -> bool:
    return resource_id in marked or sensitive_code(system, code)
