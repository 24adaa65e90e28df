"""Shared fixtures. Argon2id is lowered here, through parameters, never in production code."""

from __future__ import annotations

import pytest

from minhbach.crypto.kdf import Argon2Params

FAST_ARGON2 = Argon2Params(ops=1, memory_kib=8)


@pytest.fixture
def fast_argon2() -> Argon2Params:
    return FAST_ARGON2
