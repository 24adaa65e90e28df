"""Report categories: the sectors a report is filed under.

Categories are configurable per unit (``Unit.categories`` holds a list of slugs); the
defaults are the corruption-prone sectors listed in DOMAIN.md. A slug is stored in the
database and appears in URLs and exports, so it is plain ASCII; the labels people read
(Vietnamese and English) belong to the apps' translations, keyed by slug.

Pure Python: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "land-management",  # quản lý đất đai
    "construction-investment",  # đầu tư xây dựng cơ bản, đầu tư công
    "planning",  # quy hoạch
    "personnel",  # tuyển dụng, bổ nhiệm, luân chuyển cán bộ
    "procurement-public-assets",  # mua sắm, quản lý tài sản công
    "natural-resources-environment",  # tài nguyên và môi trường
    "finance-budget-tax-customs",  # tài chính, ngân sách, thuế, hải quan
    "health",  # y tế
    "education",  # giáo dục
    "other",  # khác
)

MAX_CATEGORY_LENGTH = 48
_CATEGORY = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


class InvalidCategory(ValueError):
    """A category slug (or list of slugs) that cannot be stored; the message says why."""


def validate_category(slug: str) -> str:
    """Return ``slug`` unchanged if it is a valid category slug, else raise InvalidCategory.

    Strict rather than normalising: a slug silently changed here would no longer match the
    translations and exports that refer to it.
    """
    if len(slug) > MAX_CATEGORY_LENGTH or not _CATEGORY.fullmatch(slug):
        raise InvalidCategory(
            f"invalid category {slug!r}: use 1-{MAX_CATEGORY_LENGTH} lowercase ASCII letters, "
            "digits and inner hyphens, e.g. 'land-management'"
        )
    return slug


def validate_categories(slugs: Iterable[str]) -> tuple[str, ...]:
    """Validate a unit's category list: at least one, each valid, none repeated."""
    checked = tuple(validate_category(slug) for slug in slugs)
    if not checked:
        raise InvalidCategory("a unit needs at least one category")
    seen: set[str] = set()
    for slug in checked:
        if slug in seen:
            raise InvalidCategory(f"category {slug!r} is listed twice")
        seen.add(slug)
    return checked
