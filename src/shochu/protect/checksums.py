"""Check-digit tests for national id numbers, shared by the id and card recognizers."""

from __future__ import annotations

import re


def my_number_check_digit(first_eleven: str) -> int:
    """Return the check digit of a My Number from its first 11 digits.

    With P(n) the n-th digit counted from the right of the 11 and weights
    Q(n) = n + 1 for n <= 6 and n - 5 for n >= 7, the remainder
    r = sum(P(n) * Q(n)) mod 11 gives a check digit of 0 when r <= 1, else 11 - r.
    """
    total = 0
    for n, digit in enumerate(reversed(first_eleven), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(candidate: str) -> bool:
    """Return True when ``candidate`` contains 12 digits whose last digit is the My Number check digit."""
    digits = re.sub(r"\D", "", candidate)
    return len(digits) == 12 and my_number_check_digit(digits[:11]) == int(digits[11])


def is_valid_thai_national_id(candidate: str) -> bool:
    """Return True for 13 digits, not starting with 0, whose last digit matches the mod-11 checksum.

    The checksum weights the first 12 digits 13, 12, ..., 2; the check digit
    is (11 - sum mod 11) mod 10.
    """
    digits = re.sub(r"\D", "", candidate)
    if len(digits) != 13 or digits[0] == "0":
        return False
    total = sum(int(digit) * (13 - index) for index, digit in enumerate(digits[:12]))
    return (11 - total % 11) % 10 == int(digits[12])
