"""What both apps' rate limits share: the limit in force for an endpoint and subject.

Every limit can be tuned without code changes, from the settings (``MINHBACH_RATE_LIMITS``
and ``MINHBACH_RATE_LIMIT_SCALE``, see README.md), which each app copies into
``app.config`` when it starts; tests change ``app.config`` directly. Both are read on every
request.

- ``OVERRIDES``: ``{endpoint: {subject: "limit string"}}`` replaces the default limit for
  that endpoint and subject;
- ``SCALE``: a factor for every amount (a busy unit raises it, a load test too).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from flask import Flask
from limits import parse_many

from casework.settings import ConfigError, Settings
from web import limit_storage  # noqa: F401 - registers the minhbach-sqlite:// storage

OVERRIDES = "MINHBACH_RATE_LIMITS"
SCALE = "MINHBACH_RATE_LIMIT_SCALE"


def configure(app: Flask, settings: Settings, known: Mapping[str, set[str]]) -> None:
    """Copy the settings' limits into ``app.config``, refusing an endpoint or subject
    that ``known`` (endpoint -> its subjects) does not have, or a limit that is not one."""
    for endpoint, rules in settings.rate_limits.items():
        for subject, limit in rules.items():
            if subject not in known.get(endpoint, set()):
                raise ConfigError(f"{OVERRIDES}: this app has no limit {endpoint}/{subject}")
            try:
                parse_many(limit)
            except ValueError:
                raise ConfigError(f"{OVERRIDES}: {limit!r} is not a limit") from None
    app.config.setdefault(OVERRIDES, settings.rate_limits)
    app.config.setdefault(SCALE, settings.rate_limit_scale)


def effective_limit(config: Mapping[str, object], endpoint: str, subject: str, default: str) -> str:
    """The limit string in force: an override if configured, then scaled."""
    overrides = config.get(OVERRIDES) or {}
    chosen = default
    if isinstance(overrides, Mapping):
        for_endpoint = overrides.get(endpoint) or {}
        if isinstance(for_endpoint, Mapping):
            chosen = str(for_endpoint.get(subject, chosen))
    scale = config.get(SCALE, 1)
    if not isinstance(scale, int | float) or scale == 1:
        return chosen
    return "; ".join(
        f"{max(1, math.ceil(item.amount * scale))} per {item.multiples} {item.GRANULARITY.name}"
        for item in parse_many(chosen)
    )
