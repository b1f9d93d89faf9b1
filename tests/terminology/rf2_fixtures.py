"""Small SNOMED CT RF2 releases written for the tests, in the real file format (tab-separated, the RF2
header row, CR LF line ends, file names as TRUD's UK Clinical Edition names them).

The hierarchy (ids are real SNOMED CT ids where the concept is named after its real meaning; ids
minted in the UK namespace are fixtures):

    138875005 SNOMED CT Concept
    └── 404684003 Clinical finding
        └── 64572001 Disease
            ├── 38341003 Hypertensive disorder
            │   ├── 59621000 Essential hypertension
            │   └── DIABETIC_HYPERTENSION (also under 73211009: two parents)
            └── 73211009 Diabetes mellitus
                ├── 44054006 Type 2 diabetes mellitus
                ├── 46635009 Type 1 diabetes mellitus
                └── DIABETIC_HYPERTENSION
    RETIRED: an inactive concept, with an inactive is-a row to 64572001
"""

from __future__ import annotations

from pathlib import Path

from careweave.terminology.sctid import mint_concept_id
from careweave.terminology.snomed import COLUMNS, FULLY_SPECIFIED_NAME, IS_A

MODULE = "999000011000000103"
PRIMITIVE = "900000000000074008"
INFERRED = "900000000000011006"
EXISTENTIAL = "900000000000451002"
CASE = "900000000000448009"
FINDING_SITE = "363698007"

ROOT, FINDING, DISEASE = "138875005", "404684003", "64572001"
HYPERTENSION, ESSENTIAL = "38341003", "59621000"
DIABETES, TYPE2, TYPE1 = "73211009", "44054006", "46635009"
DIABETIC_HYPERTENSION = mint_concept_id(9100001, 1000000)
RETIRED = mint_concept_id(9100002, 1000000)

NAMES = {
    ROOT: "SNOMED CT Concept (SNOMED RT+CTV3)",
    FINDING: "Clinical finding (finding)",
    DISEASE: "Disease (disorder)",
    HYPERTENSION: "Hypertensive disorder, systemic arterial (disorder)",
    ESSENTIAL: "Essential hypertension (disorder)",
    DIABETES: "Diabetes mellitus (disorder)",
    TYPE2: "Type 2 diabetes mellitus (disorder)",
    TYPE1: "Type 1 diabetes mellitus (disorder)",
    DIABETIC_HYPERTENSION: "Hypertension in diabetes (fixture)",
    RETIRED: "Retired concept (fixture)",
}
ISA = [
    (FINDING, ROOT),
    (DISEASE, FINDING),
    (HYPERTENSION, DISEASE),
    (ESSENTIAL, HYPERTENSION),
    (DIABETES, DISEASE),
    (TYPE2, DIABETES),
    (TYPE1, DIABETES),
    (DIABETIC_HYPERTENSION, HYPERTENSION),
    (DIABETIC_HYPERTENSION, DIABETES),
]


def _id(item: int, partition: str) -> str:
    from careweave.terminology.sctid import verhoeff_digit

    body = f"{item}{partition}"
    return body + verhoeff_digit(body)


def write_rf2(path: Path, kind: str, rows: list[tuple[str, ...]]) -> Path:
    lines = ["\t".join(COLUMNS[kind]), *("\t".join(row) for row in rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def snapshot(folder: Path, date: str = "20240925", extra_isa: list[tuple[str, str]] | None = None) -> Path:
    """A Snapshot release of the hierarchy above, with inactive rows and an attribute relationship."""
    terminology = folder / "Snapshot" / "Terminology"
    concepts = [(c, date, "1", MODULE, PRIMITIVE) for c in NAMES if c != RETIRED]
    concepts.append((RETIRED, date, "0", MODULE, PRIMITIVE))
    write_rf2(terminology / f"sct2_Concept_UKCLSnapshot_GB1000000_{date}.txt", "Concept", concepts)
    descriptions = []
    for number, (concept, name) in enumerate(NAMES.items(), start=1):
        descriptions.append(
            (_id(5000 + number, "11"), date, "1", MODULE, concept, "en", FULLY_SPECIFIED_NAME, name, CASE)
        )
        synonym = name.rsplit(" (", 1)[0]
        descriptions.append(
            (_id(6000 + number, "11"), date, "1", MODULE, concept, "en", "900000000000013009", synonym, CASE)
        )
    write_rf2(
        terminology / f"sct2_Description_UKCLSnapshot-en_GB1000000_{date}.txt", "Description", descriptions
    )
    relationships = [
        (_id(7000 + number, "12"), date, "1", MODULE, child, parent, "0", IS_A, INFERRED, EXISTENTIAL)
        for number, (child, parent) in enumerate([*ISA, *(extra_isa or [])], start=1)
    ]
    # inactive is-a (the retired concept used to be a disease) and an attribute relationship
    relationships.append(
        (_id(7900, "12"), date, "0", MODULE, RETIRED, DISEASE, "0", IS_A, INFERRED, EXISTENTIAL)
    )
    relationships.append(
        (_id(7901, "12"), date, "1", MODULE, TYPE2, HYPERTENSION, "1", FINDING_SITE, INFERRED, EXISTENTIAL)
    )
    write_rf2(
        terminology / f"sct2_Relationship_UKCLSnapshot_GB1000000_{date}.txt", "Relationship", relationships
    )
    return folder


def full(folder: Path) -> Path:
    """A Full release: the Snapshot's content at 20240925 plus superseded history.

    - Type 1 diabetes was first (20200101) wrongly under hypertension; that row was inactivated
      at 20220101 and must not count.
    - Essential hypertension's is-a row was inactivated at 20210101 and reactivated at 20240925.
    - The retired concept was active at 20200101 and inactive from 20230101.
    """
    snapshot(folder / "staging")
    terminology = folder / "Full" / "Terminology"
    source = folder / "staging" / "Snapshot" / "Terminology"
    wrong = _id(7990, "12")
    for kind in ("Concept", "Description", "Relationship"):
        [file] = source.glob(f"sct2_{kind}_*.txt")
        rows = [tuple(line.split("\t")) for line in file.read_text(encoding="utf-8").splitlines()[1:]]
        history: list[tuple[str, ...]] = []
        if kind == "Concept":
            history = [(RETIRED, "20200101", "1", MODULE, PRIMITIVE)]
            rows = [(r[0], "20230101", *r[2:]) if r[0] == RETIRED else r for r in rows]
        if kind == "Relationship":
            essential_row = next(r for r in rows if r[4] == ESSENTIAL and r[7] == IS_A)
            history = [
                (wrong, "20200101", "1", MODULE, TYPE1, HYPERTENSION, "0", IS_A, INFERRED, EXISTENTIAL),
                (wrong, "20220101", "0", MODULE, TYPE1, HYPERTENSION, "0", IS_A, INFERRED, EXISTENTIAL),
                (essential_row[0], "20200101", "1", *essential_row[3:]),
                (essential_row[0], "20210101", "0", *essential_row[3:]),
            ]
        name = file.name.replace("Snapshot", "Full")
        write_rf2(terminology / name, kind, history + rows)
    import shutil

    shutil.rmtree(folder / "staging")
    return folder
