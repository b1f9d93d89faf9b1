"""NHS number validation (Modulus 11), as defined by the NHS Data Dictionary.

Weights 10..2 are applied to the first nine digits; 11 minus the remainder of the sum divided by 11
is the check digit, where 11 becomes 0 and 10 means the number is invalid.
Source: NHS Data Dictionary, "NHS Number" (https://www.datadictionary.nhs.uk/attributes/nhs_number.html).
"""

from __future__ import annotations

import re

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
_SEPARATORS = re.compile(r"[\s-]")


def check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit for nine digits, or None when no valid number can end them."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    digit = 11 - total % 11
    if digit == 11:
        return 0
    if digit == 10:
        return None
    return digit


def normalise(value: str) -> str:
    """Strip the spaces and hyphens people type into NHS numbers (e.g. '943 476 5919')."""
    return _SEPARATORS.sub("", value)


def is_valid(value: str) -> bool:
    digits = normalise(value)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    if len(set(digits)) == 1:  # 0000000000 etc. pass the arithmetic but are never issued
        return False
    return check_digit(digits[:9]) == int(digits[9])


def why_invalid(value: str) -> str | None:
    """A plain reason the value is not a valid NHS number, or None when it is valid."""
    digits = normalise(value)
    if not digits.isascii() or not digits.isdigit():
        return "an NHS number has only digits"
    if len(digits) != 10:
        return f"an NHS number has 10 digits, this has {len(digits)}"
    if len(set(digits)) == 1:
        return "an NHS number cannot be one digit repeated"
    expected = check_digit(digits[:9])
    if expected is None:
        return "no valid NHS number starts with these nine digits (Modulus 11 check digit would be 10)"
    if expected != int(digits[9]):
        return f"the check digit is {digits[9]} but Modulus 11 gives {expected}"
    return None
