"""Synthetic NHS numbers that pass the Modulus 11 check and are never issued to real people.

Numbers come from the 999 000 0000 - 999 999 9999 range, which NHS England reserves for testing.
That block holds about 909,000 valid numbers (prefixes whose check digit would be 10 are skipped);
larger populations spill into 998, 997, ... (also outside the issued ranges), block by block.
Within a block the order is a fixed permutation so neighbouring people get unrelated numbers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)  # weights 10..2 for the first nine digits


def check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit for nine digits, or None when the number would be invalid."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid(nhs_number: str) -> bool:
    return (
        len(nhs_number) == 10 and nhs_number.isdigit() and check_digit(nhs_number[:9]) == int(nhs_number[9])
    )


@lru_cache(maxsize=4)
def _block(prefix: int) -> NDArray[np.int64]:
    """All valid ten-digit numbers starting with a three-digit prefix, in a fixed shuffled order."""
    suffix = np.arange(1_000_000, dtype=np.int64)
    digits = np.empty((suffix.size, 9), dtype=np.int64)
    digits[:, 0] = prefix // 100
    digits[:, 1] = prefix // 10 % 10
    digits[:, 2] = prefix % 10
    for k in range(6):
        digits[:, 3 + k] = suffix // 10 ** (5 - k) % 10
    check = 11 - (digits @ WEIGHTS) % 11
    check = np.where(check == 11, 0, check)
    ok = check != 10
    numbers = (prefix * 1_000_000 + suffix[ok]) * 10 + check[ok]
    order = np.random.default_rng(prefix).permutation(numbers.size)
    shuffled: NDArray[np.int64] = numbers[order]
    return shuffled


def nhs_numbers(start: int, count: int) -> list[str]:
    """NHS numbers for people start .. start+count-1 (the same person always gets the same one)."""
    out: list[str] = []
    index = start
    end = start + count
    while index < end:
        prefix = 999
        offset = index
        block = _block(prefix)
        while offset >= block.size:
            offset -= block.size
            prefix -= 1
            if prefix < 900:
                raise ValueError("population too large for the synthetic NHS number ranges")
            block = _block(prefix)
        take = min(end - index, block.size - offset)
        out.extend(str(n) for n in block[offset : offset + take].tolist())
        index += take
    return out
