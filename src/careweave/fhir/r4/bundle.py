"""The rules of an R4 Bundle beyond its entries' resources: bdl-1..12 as the Bundle
StructureDefinition states them, fullUrls absolute and unique, one resource per type and id, and
each `Bundle.link` relation once. Django-free.

Each problem is (entry index or None, FHIRPath from the Bundle, issue code, message).
"""

from __future__ import annotations

import re
from typing import Any

BundleProblem = tuple[int | None, str, str, str]

_ABSOLUTE = re.compile(r"^(?:urn:uuid:[0-9A-Za-z\-]+|urn:oid:[0-2](?:\.\d+)+|https?://\S+)$")
_REQUEST_TYPES = ("batch", "transaction", "history")
_RESPONSE_TYPES = ("batch-response", "transaction-response", "history")


def problems(bundle: dict[str, Any]) -> list[BundleProblem]:
    found: list[BundleProblem] = []
    kind = bundle.get("type")
    # bdl-1: total only when a search or history
    if bundle.get("total") is not None and kind not in ("searchset", "history"):
        found.append((None, "Bundle.total", "invariant", "bdl-1: total only when a search or history"))
    raw_links: list[Any] = bundle["link"] if isinstance(bundle.get("link"), list) else []
    links = [link.get("relation") for link in raw_links if isinstance(link, dict)]
    links = [r for r in links if isinstance(r, str)]
    for relation in sorted({r for r in links if links.count(r) > 1 and r}):
        found.append((None, "Bundle.link", "invariant", f"Bundle.link relation '{relation}' is repeated"))
    if kind == "document":
        # bdl-9, bdl-10
        ident = _dict(bundle.get("identifier"))
        if not (ident.get("system") and ident.get("value")):
            found.append(
                (
                    None,
                    "Bundle.identifier",
                    "invariant",
                    "bdl-9: a document has an identifier with a system and a value",
                )
            )
        if not bundle.get("timestamp"):
            found.append((None, "Bundle.timestamp", "invariant", "bdl-10: a document has a timestamp"))
    entries: list[Any] = bundle["entry"] if isinstance(bundle.get("entry"), list) else []
    first = entries[0].get("resource") if entries and isinstance(entries[0], dict) else None
    first_type = first.get("resourceType") if isinstance(first, dict) else None
    if kind == "document" and first_type != "Composition":
        found.append(
            (0, "Bundle.entry[0].resource", "invariant", "bdl-11: a document starts with a Composition")
        )
    if kind == "message" and first_type != "MessageHeader":
        found.append(
            (0, "Bundle.entry[0].resource", "invariant", "bdl-12: a message starts with a MessageHeader")
        )
    full_urls: dict[tuple[str, str], int] = {}
    typed_ids: dict[tuple[str, str, str], int] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        at = f"Bundle.entry[{i}]"
        resource = entry.get("resource") if isinstance(entry.get("resource"), dict) else None
        # bdl-5: must be a resource unless there's a request or response
        if resource is None and not entry.get("request") and not entry.get("response"):
            found.append((i, at, "invariant", "bdl-5: an entry has a resource, a request or a response"))
        # bdl-2: entry.search only when a search
        if entry.get("search") is not None and kind != "searchset":
            found.append((i, f"{at}.search", "invariant", "bdl-2: entry.search only when a search"))
        # bdl-3: entry.request mandatory for batch/transaction/history, otherwise prohibited
        if (entry.get("request") is not None) != (kind in _REQUEST_TYPES):
            message = (
                "bdl-3: entry.request is required for batch, transaction and history, otherwise not allowed"
            )
            found.append((i, f"{at}.request", "invariant", message))
        # bdl-4: entry.response mandatory for batch-response/transaction-response/history, otherwise prohibited
        if (entry.get("response") is not None) != (kind in _RESPONSE_TYPES):
            message = "bdl-4: entry.response is required for batch-response, transaction-response and history, otherwise not allowed"
            found.append((i, f"{at}.response", "invariant", message))
        full_url = entry.get("fullUrl")
        version = ""
        if resource is not None:
            meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
            version = str(meta.get("versionId") or "")
            if not version and resource.get("resourceType") == "Task":
                # a referral's Task history sent as one bundle, one entry per business version, each
                # dated by its own lastModified (ADR 0012, issue 15): distinct versions, as bdl-7 allows
                version = str(resource.get("lastModified") or "")
        if full_url is not None:
            # R4 asks for an absolute URL; a relative `Type/id` naming the entry's own resource is
            # what many senders write for a transaction of PUTs, and is unambiguous here, so it stands
            names_itself = (
                isinstance(full_url, str)
                and resource is not None
                and full_url == f"{resource.get('resourceType')}/{resource.get('id')}"
            )
            if not isinstance(full_url, str) or not (_ABSOLUTE.match(full_url) or names_itself):
                message = f"fullUrl '{full_url}' is not absolute (urn:uuid:, urn:oid: or http(s)://)"
                found.append((i, f"{at}.fullUrl", "value", message))
            elif "/_history/" in full_url:
                found.append(
                    (i, f"{at}.fullUrl", "invariant", "bdl-8: fullUrl cannot be a version specific reference")
                )
            else:
                # bdl-7: (type = 'history') or entry.where(fullUrl.exists())
                #        .select(fullUrl&resource.meta.versionId).isDistinct()
                key = (full_url, version)
                if key in full_urls and kind != "history":
                    message = f"bdl-7: fullUrl {full_url} is also entry {full_urls[key]}'s"
                    found.append((i, f"{at}.fullUrl", "invariant", message))
                full_urls.setdefault(key, i)
        if resource is not None and kind != "history":
            rtype, rid = resource.get("resourceType"), resource.get("id")
            request = _dict(entry.get("request"))
            if isinstance(rtype, str) and isinstance(rid, str) and request.get("method") != "POST":
                # the same type and id from another server (a different base of a RESTful fullUrl) is another resource
                suffix = f"/{rtype}/{rid}"
                base = (
                    full_url[: -len(suffix)]
                    if isinstance(full_url, str) and full_url.endswith(suffix)
                    else ""
                )
                key3 = (base, f"{rtype}/{rid}", version)
                if key3 in typed_ids:
                    message = f"{rtype}/{rid} is also entry {typed_ids[key3]}: one resource (and version), one entry"
                    found.append((i, f"{at}.resource.id", "invariant", message))
                typed_ids.setdefault(key3, i)
    return found


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
