"""dm+d from the organisation's own release: VTM, VMP and AMP, and the BNF/ATC bonus mapping (ADR 0008).

The NHSBSA dm+d XML release (TRUD item 24) has one file per class; the weekly bonus release (item
25) adds the BNF and ATC codes. The elements read here follow the release's own XML schemas:

- ``f_vtm2_*.xml``: ``VIRTUAL_THERAPEUTIC_MOIETIES/VTM`` with ``VTMID``, ``NM``, ``INVALID``;
- ``f_vmp2_*.xml``: ``VIRTUAL_MED_PRODUCTS/VMPS/VMP`` with ``VPID``, ``VPIDPREV``, ``VTMID``, ``NM``,
  ``INVALID``;
- ``f_amp2_*.xml``: ``ACTUAL_MEDICINAL_PRODUCTS/AMPS/AMP`` with ``APID``, ``VPID``, ``NM``, ``INVALID``;
- ``f_bnf1_*.xml`` (bonus): ``BNF_DETAILS/VMPS/VMP`` with ``VPID``, ``BNF``, ``ATC`` and
  ``BNF_DETAILS/AMPS/AMP`` with ``APID``, ``BNF``.

The files are read as a stream (``iterparse``, each record cleared once read), so memory follows the
number of products, not the size of the XML. A medicine class then matches an AMP or a VMP through
its VTM (the ingredient), whatever brand or strength was prescribed. Django-free.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .sctid import concept_id_problem
from .store import Progress, ReleaseError, Store

_FILE = re.compile(r"^f_(?P<kind>vtm|vmp|amp|bnf)\d*_(?P<release>\d+)\.xml$", re.IGNORECASE)
# kind -> (root element, path of the record element under the root, fields, required fields)
_LAYOUT: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "vtm": ("VIRTUAL_THERAPEUTIC_MOIETIES", ("VTM",), ("VTMID", "NM", "INVALID"), ("VTMID", "NM")),
    "vmp": (
        "VIRTUAL_MED_PRODUCTS",
        ("VMPS", "VMP"),
        ("VPID", "VPIDPREV", "VTMID", "NM", "INVALID"),
        ("VPID", "NM"),
    ),
    "amp": (
        "ACTUAL_MEDICINAL_PRODUCTS",
        ("AMPS", "AMP"),
        ("APID", "VPID", "NM", "INVALID"),
        ("APID", "VPID", "NM"),
    ),
    "bnf_vmp": ("BNF_DETAILS", ("VMPS", "VMP"), ("VPID", "BNF", "ATC"), ("VPID",)),
    "bnf_amp": ("BNF_DETAILS", ("AMPS", "AMP"), ("APID", "BNF"), ("APID",)),
}
_IDS = {"VTMID", "VPID", "VPIDPREV", "APID"}
_STAGES = 5


@dataclass(frozen=True)
class Vtm:
    id: str
    name: str


@dataclass(frozen=True)
class Classification:
    bnf: str | None
    atc: str | None


def _records(path: Path, kind: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(index, {field: text}) for each record of ``kind`` in ``path``, streamed."""
    root_name, record_path, fields, required = _LAYOUT[kind]
    depth_of_record = len(record_path) + 1
    where = f"{root_name}/{'/'.join(record_path)}"
    stack: list[str] = []
    parents: list[ET.Element] = []
    index = 0
    try:
        for event, element in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                stack.append(element.tag)
                parents.append(element)
                if len(stack) == 1 and element.tag != root_name:
                    raise ReleaseError(
                        path, f"the root element is {element.tag}, expected {root_name}", line=1
                    )
                continue
            if len(stack) == depth_of_record and tuple(stack[1:]) == record_path:
                index += 1
                values = {child.tag: (child.text or "").strip() for child in element if child.tag in fields}
                for name in required:
                    if not values.get(name):
                        raise ReleaseError(path, f"{where}[{index}] has no {name}", field=name)
                for name in _IDS & values.keys():
                    problem = concept_id_problem(values[name])
                    if problem:
                        raise ReleaseError(
                            path, f"{where}[{index}]: {values[name]!r} is {problem}", field=name
                        )
                yield index, values
                element.clear()
                parents[-2].clear()  # drop records already read (keeps memory flat)
            stack.pop()
            parents.pop()
    except ET.ParseError as error:
        line, _column = error.position
        raise ReleaseError(path, f"not well-formed XML ({error})", line=line) from None


def _find(roots: Iterable[Path]) -> dict[str, Path]:
    found: dict[str, list[Path]] = {}
    for root in roots:
        if not root.exists():
            raise ReleaseError(root, "no such file or folder")
        candidates = [root] if root.is_file() else sorted(root.rglob("f_*.xml"))
        for path in candidates:
            match = _FILE.match(path.name)
            if match:
                found.setdefault(match["kind"].lower(), []).append(path)
    chosen: dict[str, Path] = {}
    for kind in ("vtm", "vmp", "amp", "bnf"):
        paths = found.get(kind, [])
        if len(paths) > 1:
            raise ReleaseError(
                paths[1],
                f"more than one f_{kind} file ({', '.join(p.name for p in paths)}); "
                "load one release at a time",
            )
        if paths:
            chosen[kind] = paths[0]
        elif kind != "bnf":
            raise ReleaseError(
                next(iter(roots)), f"no f_{kind}2_*.xml file here (is this the dm+d XML release folder?)"
            )
    return chosen


def _invalid(values: dict[str, str]) -> bool:
    return values.get("INVALID", "0") == "1"


def _linked(
    files: dict[str, Path],
    kind: tuple[str, str],
    parent: tuple[str, str],
    parents: dict[str, dict[str, str]],
    *,
    optional: bool = False,
) -> dict[str, dict[str, str]]:
    """Every record of a file by its id, each refused, by file, entry and field, when it names a parent
    (a VMP's VTM, an AMP's VMP) that is not in ``parents``; ``optional`` when it may name none."""
    (name, key), (parent_name, parent_key) = kind, parent
    rows: dict[str, dict[str, str]] = {}
    for index, values in _records(files[name], name):
        named = values.get(parent_key)
        if (named or not optional) and named not in parents:
            raise ReleaseError(
                files[name],
                f"{name.upper()}S/{name.upper()}[{index}] ({key} {values[key]}) names {parent_name.upper()} {named}, "
                f"which is not in {files[parent_name].name}",
                field=parent_key,
            )
        rows[values[key]] = values
    return rows


def load_dmd(
    paths: Path | str | Iterable[Path | str], *, store: Store | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Load the dm+d XML release (and the bonus BNF file, if among ``paths``) and make it current."""
    store = store or Store.at()
    started = time.perf_counter()
    report = progress or (lambda _stage, _done, _total: None)
    roots = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    files = _find(roots)
    report("Reading VTMs", 0, _STAGES)
    vtm = {v["VTMID"]: v for _i, v in _records(files["vtm"], "vtm")}
    report("Reading VMPs", 1, _STAGES)
    vmp = _linked(files, ("vmp", "VPID"), ("vtm", "VTMID"), vtm, optional=True)
    report("Reading AMPs", 2, _STAGES)
    amp = _linked(files, ("amp", "APID"), ("vmp", "VPID"), vmp)
    report("Reading the BNF/ATC mapping", 3, _STAGES)
    vmp_bnf: dict[str, dict[str, str]] = {}
    amp_bnf: dict[str, dict[str, str]] = {}
    if "bnf" in files:
        vmp_bnf = {v["VPID"]: v for _i, v in _records(files["bnf"], "bnf_vmp") if v["VPID"] in vmp}
        amp_bnf = {v["APID"]: v for _i, v in _records(files["bnf"], "bnf_amp") if v["APID"] in amp}
    report("Writing Parquet", 4, _STAGES)
    named = _FILE.match(files["vtm"].name)
    assert named is not None  # _find only keeps matching names
    release_id = f"dmd_{named['release']}"
    staging = store.staging_dir("dmd")
    try:
        tables = {
            "vtm": {
                "id": list(vtm),
                "name": [v["NM"] for v in vtm.values()],
                "invalid": [_invalid(v) for v in vtm.values()],
            },
            "vmp": {
                "id": list(vmp),
                "name": [v["NM"] for v in vmp.values()],
                "vtm_id": [v.get("VTMID") or None for v in vmp.values()],
                "previous_id": [v.get("VPIDPREV") or None for v in vmp.values()],
                "invalid": [_invalid(v) for v in vmp.values()],
                "bnf": [vmp_bnf.get(k, {}).get("BNF") or None for k in vmp],
                "atc": [vmp_bnf.get(k, {}).get("ATC") or None for k in vmp],
            },
            "amp": {
                "id": list(amp),
                "name": [v["NM"] for v in amp.values()],
                "vmp_id": [v["VPID"] for v in amp.values()],
                "invalid": [_invalid(v) for v in amp.values()],
                "bnf": [amp_bnf.get(k, {}).get("BNF") or None for k in amp],
            },
        }
        for name, columns in tables.items():
            pq.write_table(pa.table(columns), staging / f"{name}.parquet")
        manifest = {
            "release_id": release_id,
            "files": sorted(p.name for p in files.values()),
            "bnf_atc": "bnf" in files,
            "counts": {
                "vtm": len(vtm),
                "vmp": len(vmp),
                "amp": len(amp),
                "vmp_with_vtm": sum(1 for v in vmp.values() if v.get("VTMID")),
                "vmp_with_bnf": sum(1 for v in vmp_bnf.values() if v.get("BNF")),
                "vmp_with_atc": sum(1 for v in vmp_bnf.values() if v.get("ATC")),
                "amp_with_bnf": sum(1 for v in amp_bnf.values() if v.get("BNF")),
            },
            "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 2),
        }
        store.publish("dmd", staging, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report("Done", _STAGES, _STAGES)
    return manifest


class DmdRelease:
    """Lookups on a loaded dm+d release: the ingredient (VTM) and the BNF/ATC codes of a product."""

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        self.directory = directory
        self.manifest = manifest
        self.release_id: str = manifest["release_id"]
        read = {
            name: pq.read_table(directory / f"{name}.parquet").to_pylist() for name in ("vtm", "vmp", "amp")
        }
        self._vtm = {row["id"]: row for row in read["vtm"]}
        self._vmp = {row["id"]: row for row in read["vmp"]}
        self._amp = {row["id"]: row for row in read["amp"]}
        self._previous = {row["previous_id"]: row["id"] for row in read["vmp"] if row["previous_id"]}
        self._by_vtm: dict[str, set[str]] = {}
        for row in read["vmp"]:
            if row["vtm_id"]:
                self._by_vtm.setdefault(row["vtm_id"], set()).add(row["id"])
        for row in read["amp"]:
            vtm_id = self._vmp[row["vmp_id"]]["vtm_id"]
            if vtm_id:
                self._by_vtm.setdefault(vtm_id, set()).add(row["id"])

    @classmethod
    def current(cls, store: Store | None = None) -> DmdRelease | None:
        found = (store or Store.at()).current_release("dmd")
        return None if found is None else cls(*found)

    def _vmp_of(self, code: str) -> dict[str, Any] | None:
        vmp_id = self._amp[code]["vmp_id"] if code in self._amp else self._previous.get(code, code)
        vmp: dict[str, Any] | None = self._vmp.get(vmp_id)
        return vmp

    def ingredient(self, code: str) -> Vtm | None:
        """The VTM of a VTM, VMP (current or previous id) or AMP code; ``None`` if it has none or is unknown."""
        if code in self._vtm:
            return Vtm(code, self._vtm[code]["name"])
        vmp = self._vmp_of(code)
        if vmp is None or not vmp["vtm_id"]:
            return None
        return Vtm(vmp["vtm_id"], self._vtm[vmp["vtm_id"]]["name"])

    def classification(self, code: str) -> Classification | None:
        """BNF and ATC codes of a VMP or AMP (an AMP without its own BNF code takes its VMP's)."""
        vmp = self._vmp_of(code)
        if vmp is None:
            return None
        bnf = self._amp[code]["bnf"] if code in self._amp else None
        return Classification(bnf or vmp["bnf"], vmp["atc"])

    def products(self, vtm_ids: Iterable[str]) -> frozenset[str]:
        """Every VMP and AMP whose ingredient is one of ``vtm_ids``."""
        out: set[str] = set()
        for vtm_id in vtm_ids:
            out |= self._by_vtm.get(vtm_id, set())
        return frozenset(out)

    def _classified(self, prefix: str, pick: str) -> frozenset[str]:
        found: set[str] = set()
        for code in (*self._vmp, *self._amp):
            classification = self.classification(code)
            value = getattr(classification, pick) if classification else None
            if value and value.startswith(prefix):
                found.add(code)
        return frozenset(found)

    def with_bnf_prefix(self, prefix: str) -> frozenset[str]:
        """VMPs and AMPs whose BNF code (their own or their VMP's) starts with ``prefix``."""
        return self._classified(prefix, "bnf")

    def with_atc_prefix(self, prefix: str) -> frozenset[str]:
        """VMPs and AMPs whose VMP's ATC code starts with ``prefix``."""
        return self._classified(prefix, "atc")
