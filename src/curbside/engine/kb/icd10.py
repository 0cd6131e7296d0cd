"""ICD-10-CM code checks against the offline code table shipped in ``simple-icd-10-cm``."""

from __future__ import annotations

from functools import lru_cache

import simple_icd_10_cm as icd


@lru_cache(maxsize=4096)
def icd10_problem(code: str) -> str | None:
    """None when ``code`` is a valid ICD-10-CM category, subcategory or code; otherwise why not."""
    if not code or code != code.strip():
        return f"ICD-10-CM code {code!r} is empty or has stray spaces"
    if icd.is_valid_item(code):
        return None
    return f"ICD-10-CM code {code!r} is not in the ICD-10-CM table"


def icd10_title(code: str) -> str | None:
    try:
        return str(icd.get_description(code))
    except ValueError:
        return None


def icd10_prefix_match(codes_a: list[str], codes_b: list[str]) -> bool:
    """True when a code of one list, dots removed, is a prefix of a code of the other."""
    a = [c.replace(".", "").upper() for c in codes_a]
    b = [c.replace(".", "").upper() for c in codes_b]
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b if x and y)
