"""The review app's settings: timeouts, allowed networks, HTTPS."""

from __future__ import annotations

import ipaddress

import pytest

from casework.settings import ConfigError, Settings


def test_defaults_are_loopback_only_30_minutes_idle_and_12_hours_at_most() -> None:
    settings = Settings.from_env({})
    assert settings.review_idle_minutes == 30
    assert settings.review_absolute_hours == 12
    assert settings.review_allowed_networks == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert settings.review_https is False


def test_values_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "MINHBACH_REVIEW_IDLE_MINUTES": "10",
            "MINHBACH_REVIEW_ABSOLUTE_HOURS": "8",
            "MINHBACH_REVIEW_ALLOWED_NETWORKS": " 10.20.0.0/16 , fd00::/8,",
            "MINHBACH_REVIEW_HTTPS": "yes",
        }
    )
    assert (settings.review_idle_minutes, settings.review_absolute_hours) == (10, 8)
    assert settings.review_allowed_networks == (
        ipaddress.ip_network("10.20.0.0/16"),
        ipaddress.ip_network("fd00::/8"),
    )
    assert settings.review_https is True


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REVIEW_ALLOWED_NETWORKS", "10.20.0.1/16", "host bits set"),
        ("REVIEW_ALLOWED_NETWORKS", "intranet", "not a network"),
        ("REVIEW_ALLOWED_NETWORKS", " , ", "at least one network"),
        ("REVIEW_IDLE_MINUTES", "0", "between 1 and 1440"),
        ("REVIEW_ABSOLUTE_HOURS", "a day", "whole number"),
        ("REVIEW_HTTPS", "maybe", "1/0"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        Settings.from_env({f"MINHBACH_{name}": value})
    assert f"MINHBACH_{name}" in str(refused.value)
