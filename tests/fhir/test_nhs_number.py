from hypothesis import given
from hypothesis import strategies as st

from careweave.fhir.nhs_number import check_digit, is_valid, why_invalid


def independent_check_digit(nine: str) -> int | None:
    # Written out from the NHS Data Dictionary definition, independently of the module under test.
    total = 0
    for position, digit in enumerate(nine):
        total += int(digit) * (10 - position)
    remainder = total % 11
    result = 11 - remainder
    return {11: 0, 10: None}.get(result, result)


def test_published_example_numbers() -> None:
    # 943 476 5919 is the NHS Data Dictionary's worked example; spaces and hyphens are allowed
    assert is_valid("9434765919")
    assert is_valid("943 476 5919")
    assert is_valid("943-476-5919")
    assert not is_valid("9434765918")
    assert "check digit" in (why_invalid("9434765918") or "")


def test_shapes_that_are_never_valid() -> None:
    assert "10 digits" in (why_invalid("943476591") or "")
    assert "only digits" in (why_invalid("94347659A9") or "")
    assert why_invalid("0000000000") is not None
    assert not is_valid("")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_check_digit_matches_definition(nine: str) -> None:
    assert check_digit(nine) == independent_check_digit(nine)
    digit = check_digit(nine)
    if digit is not None and len(set(nine + str(digit))) > 1:
        assert is_valid(nine + str(digit))
        # Modulus 11 catches every single-digit substitution
        for position in range(10):
            number = nine + str(digit)
            for other in "0123456789":
                if other != number[position]:
                    assert not is_valid(number[:position] + other + number[position + 1 :])
