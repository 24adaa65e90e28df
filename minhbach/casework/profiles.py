"""Policy profiles: which law's statuses and deadlines a unit follows.

Deadlines are data in a profile, never constants in code (DOMAIN.md): a new law is a new
profile. This module only names the known profiles for now; their statuses, transitions
and deadlines come with the workflow.

Pure Python: no Flask, no database.
"""

from __future__ import annotations

VN_DENUNCIATION_2018 = "vn-denunciation-2018"  # Luật Tố cáo 25/2018/QH14, Decree 31/2019
EU_2019_1937 = "eu-2019-1937"  # EU Directive 2019/1937 (whistleblower protection)

PROFILE_NAMES: tuple[str, ...] = (VN_DENUNCIATION_2018, EU_2019_1937)
DEFAULT_PROFILE = VN_DENUNCIATION_2018


class UnknownProfile(ValueError):
    """A profile name this version of minhbach does not know."""


def validate_profile(name: str) -> str:
    if name not in PROFILE_NAMES:
        raise UnknownProfile(
            f"unknown profile {name!r}: known profiles are {', '.join(PROFILE_NAMES)}"
        )
    return name
