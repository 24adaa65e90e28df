"""Report categories and policy profile names (casework)."""

from __future__ import annotations

import pytest

from casework.categories import (
    DEFAULT_CATEGORIES,
    InvalidCategory,
    validate_categories,
    validate_category,
)
from casework.profiles import (
    DEFAULT_PROFILE,
    UnknownProfile,
    profile_names,
    validate_profile,
)


def test_default_categories_are_the_ten_sectors_and_valid() -> None:
    assert len(DEFAULT_CATEGORIES) == 10
    assert validate_categories(DEFAULT_CATEGORIES) == DEFAULT_CATEGORIES
    assert DEFAULT_CATEGORIES[-1] == "other"


@pytest.mark.parametrize("slug", ["land", "a", "land-2", "9"])
def test_valid_category_slugs_are_returned_unchanged(slug: str) -> None:
    assert validate_category(slug) == slug


@pytest.mark.parametrize(
    "slug", ["", "Land", "đất-đai", "land management", "-land", "land-", "land_use", "x" * 49]
)
def test_invalid_category_slugs_are_refused_with_the_rule(slug: str) -> None:
    with pytest.raises(InvalidCategory, match="lowercase ASCII letters, digits and inner hyphens"):
        validate_category(slug)


def test_category_lists_need_one_and_no_repeats() -> None:
    with pytest.raises(InvalidCategory, match="at least one"):
        validate_categories([])
    with pytest.raises(InvalidCategory, match="'health' is listed twice"):
        validate_categories(["health", "education", "health"])


def test_profiles() -> None:
    assert DEFAULT_PROFILE in profile_names()
    assert validate_profile("eu-2019-1937") == "eu-2019-1937"
    with pytest.raises(UnknownProfile, match="known profiles are eu-2019-1937, vn-denunciation"):
        validate_profile("vn-2026")
