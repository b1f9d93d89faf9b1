"""SNOMED CT identifiers (SCTIDs): the shape and check digit every concept id must have.

Per the SNOMED CT Technical Implementation Guide ("SCTID data structure"): 6 to 18 digits, no
leading zero; the last digit is a Verhoeff check digit over the others; the two digits before it
are the partition identifier, whose second digit is the kind of component (0 concept, 1 description,
2 relationship) and whose first digit says whether a 7-digit namespace precedes it (1, "long form",
extensions such as the UK's and dm+d) or not (0, the International release). dm+d identifiers are
SCTIDs too, so one check serves both.
"""

from __future__ import annotations


def _dihedral_product(i: int, j: int) -> int:
    """``i * j`` in the dihedral group D5, numbered as Verhoeff does: 0-4 the rotations, 5-9 the
    reflections."""
    if i < 5:
        return (i + j) % 5 if j < 5 else 5 + (i + j) % 5
    return 5 + (i - j) % 5 if j < 5 else (i - j) % 5


def _permutation_powers(step: tuple[int, ...], count: int) -> tuple[tuple[int, ...], ...]:
    """``step`` applied 0, 1, ..., ``count - 1`` times: row k maps each digit through ``step`` k times."""
    rows = [tuple(range(10))]
    while len(rows) < count:
        rows.append(tuple(step[digit] for digit in rows[-1]))
    return tuple(rows)


# Verhoeff's tables: _D is the multiplication table of D5; _P[k] is the permutation applied to the
# digit k places from the right, Verhoeff's permutation (1 5 7 6 2 8 3 0 9 4) applied k times (its
# eighth power is the identity, so 8 rows serve every position); _INV holds the inverses in D5.
_D = tuple(tuple(_dihedral_product(i, j) for j in range(10)) for i in range(10))
_P = _permutation_powers((1, 5, 7, 6, 2, 8, 3, 0, 9, 4), 8)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def verhoeff_valid(digits: str) -> bool:
    """Whether ``digits`` (check digit last) passes Verhoeff's check."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _D[check][_P[position % 8][int(digit)]]
    return check == 0


def verhoeff_digit(digits: str) -> str:
    """The check digit to append to ``digits`` (used by tests and the benchmark to mint ids)."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _D[check][_P[(position + 1) % 8][int(digit)]]
    return str(_INV[check])


def concept_id_problem(value: str) -> str | None:
    """Why ``value`` is not a SNOMED CT concept id, or ``None`` if it is one."""
    if not value.isascii() or not value.isdigit():
        return "not a SNOMED CT id (digits only)"
    if not 6 <= len(value) <= 18:
        return f"not a SNOMED CT id ({len(value)} digits; an SCTID has 6 to 18)"
    if value[0] == "0":
        return "not a SNOMED CT id (leading zero)"
    if not verhoeff_valid(value):
        return "not a SNOMED CT id (the check digit is wrong: a typing error?)"
    long_form, component = value[-3], value[-2]
    if long_form not in "01":
        return f"not a SNOMED CT id (partition identifier {value[-3:-1]})"
    if component != "0":
        kind = {"1": "a description", "2": "a relationship"}.get(component, "not a concept")
        return f"{kind} id, not a concept id (partition identifier {value[-3:-1]})"
    if long_form == "1" and len(value) < 11:
        return "not a SNOMED CT id (an extension id has a 7-digit namespace)"
    return None


def is_concept_id(value: str) -> bool:
    return concept_id_problem(value) is None


def mint_concept_id(item: int, namespace: int | None = None) -> str:
    """A valid concept SCTID for ``item`` (short form, or long form in ``namespace``)."""
    body = f"{item}{namespace:07d}10" if namespace is not None else f"{item}00"
    return body + verhoeff_digit(body)
