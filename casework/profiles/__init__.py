"""Policy profiles: which law's statuses, transitions and deadlines a unit follows.

Deadlines are data, never constants in code (DOMAIN.md): each profile is a TOML file in
this folder (or in the folder named by ``MINHBACH_PROFILES``), so a new law is a new file.
A profile is checked whole when it loads: every status a transition or deadline names
must exist, units and tracks must be known, and a mistake is one clear ``ProfileError``.
``docs/workflow.md`` documents the format.

Pure Python: no Flask, no database.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from casework.calendar import PeriodUnit, WorkingCalendar
from casework.legal_grounds import GROUND_LISTS, GroundList
from store.models import Track

VN_DENUNCIATION_2018 = "vn-denunciation-2018"  # Luật Tố cáo 25/2018/QH14, Decree 31/2019
# As amended from 1 July 2026: Law 136/2025/QH15, Decree 156/2026/NĐ-CP.
VN_DENUNCIATION_2026 = "vn-denunciation-2026"
EU_2019_1937 = "eu-2019-1937"  # EU Directive 2019/1937 (whistleblower protection)
DEFAULT_PROFILE = VN_DENUNCIATION_2026

BUILT_IN = Path(__file__).parent
ENVIRONMENT_FOLDER = "MINHBACH_PROFILES"
UNIT_SIDE, REPORTER_SIDE = "unit", "reporter"


class ProfileError(ValueError):
    """A profile file that is missing, unreadable or inconsistent."""


class UnknownProfile(ProfileError):
    """A profile name no profile file answers to."""


@dataclass(frozen=True)
class Period:
    length: int
    unit: PeriodUnit


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    tracks: frozenset[Track]
    by: str  # UNIT_SIDE or REPORTER_SIDE
    grounds_required: bool
    # The law's closed list of grounds the step is taken on (casework.legal_grounds): at
    # least one of them is chosen and recorded on the step.
    legal_grounds: GroundList | None = None


@dataclass(frozen=True)
class LatestStart:
    """A clock that has not started within ``period`` of entering a status of ``after``
    starts when that period ends (EU 2019/1937 Art. 9(1)(f): feedback is due three months
    from the acknowledgement or, when none was sent, from the end of its seven days)."""

    after: frozenset[str]
    period: Period


CONFIDENCE = ("high", "medium", "low")


@dataclass(frozen=True)
class DeadlineRule:
    key: str
    tracks: frozenset[Track]
    statutory: bool
    period: Period
    extension: Period | None
    max_extensions: int
    start: frozenset[str]
    start_events: frozenset[str]
    stop: frozenset[str]
    stop_events: frozenset[str]
    pause_in: frozenset[str]
    labels: Mapping[str, str] = field(default_factory=dict)  # language -> text, optional
    # Where the rule comes from (an article, or the unit's own reason for a target), and
    # how sure the reading of it is (CONFIDENCE); shown to staff beside the deadline.
    source: str | None = None
    confidence: str | None = None
    start_at_latest: LatestStart | None = None
    # Count from the case's last entry into one of these statuses rather than from the
    # step that starts the clock (LTC Art. 24(2): a forward is due 5 working days from
    # receipt, and only a case that is forwarded has that clock).
    count_from: frozenset[str] = frozenset()
    # The law's list an extension's grounds are chosen from, and how many of them each
    # extension in turn needs (NĐ31 Art. 3: one for the first, two for the second).
    extension_grounds: GroundList | None = None
    extension_needs: tuple[int, ...] = ()
    # An extension of one of these clocks starts this one (LTC Art. 30(2): the extension
    # decision is sent to the parties).
    start_extensions: frozenset[str] = frozenset()
    # Leaving one of these statuses for one that does not stop the clock starts it
    # (LTC Art. 34(3): the decision to resume after a suspension is sent to the parties).
    start_leaving: frozenset[str] = frozenset()

    def grounds_needed(self, extensions_used: int) -> int:
        """How many of ``extension_grounds`` the next extension needs."""
        if not self.extension_needs:
            return 0
        return self.extension_needs[min(extensions_used, len(self.extension_needs) - 1)]


@dataclass(frozen=True)
class Replacement:
    """The profile a newer law replaces: cases received before ``before`` (the day the new
    law took effect) still follow ``profile``, the law in force when they arrived."""

    profile: str
    before: date


@dataclass(frozen=True)
class Status:
    name: str
    ended: bool  # decided or stopped: no more withdrawal, no running clocks but notices
    final: bool  # nothing more happens; the retention period starts
    labels: Mapping[str, str] = field(default_factory=dict)  # language -> text, optional
    # Entering it ends every protection still running (LTC Art. 54(2): at the conclusion
    # or the termination of the case).
    ends_protection: bool = False


@dataclass(frozen=True)
class Profile:
    name: str
    titles: Mapping[str, str]
    initial_status: str
    statuses: Mapping[str, Status]
    transitions: tuple[Transition, ...]
    deadlines: Mapping[str, DeadlineRule]
    calendar: WorkingCalendar
    retention_days: int
    forward_keeps_read_access: bool
    protection_confirmation: Period
    # The unit's own target for deciding a protection request (LTC Art. 51(1) asks for a
    # prompt decision and sets no period). None: no target is shown.
    protection_decision: Period | None = None
    # LTC Art. 22-23, 29(1)(a): a named report is a formal denunciation only once the unit
    # has verified who made it, which it may record in these statuses; until then it
    # follows the anonymous track (Art. 25(1)). Empty: a named report is formal at once.
    identity_verification_in: frozenset[str] = frozenset()
    replaces: Replacement | None = None
    # The law's grounds for ending a protection (casework.legal_grounds): one is chosen
    # and recorded with each end. None: the end's written ground alone.
    protection_end_grounds: GroundList | None = None

    @property
    def verifies_identity(self) -> bool:
        return bool(self.identity_verification_in)

    @property
    def named_only_statuses(self) -> frozenset[str]:
        """Statuses only a named report can reach (an acceptance, a conclusion...)."""
        anonymous = {t.target for t in self.transitions if Track.ANONYMOUS in t.tracks}
        named = {t.target for t in self.transitions if Track.NAMED in t.tracks}
        return frozenset(named - anonymous)

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get("en") or self.name

    def next_statuses(self, status: str, track: Track, by: str = UNIT_SIDE) -> list[str]:
        """Where a case may go from ``status``, in the file's order."""
        return [t.target for t in self._steps(status, track, by)]

    def transition(self, status: str, target: str, track: Track, by: str) -> Transition | None:
        return next((t for t in self._steps(status, track, by) if t.target == target), None)

    def rules_for(self, track: Track) -> list[DeadlineRule]:
        return [rule for rule in self.deadlines.values() if track in rule.tracks]

    def is_final(self, status: str) -> bool:
        found = self.statuses.get(status)
        return found is not None and found.final

    def is_ended(self, status: str) -> bool:
        found = self.statuses.get(status)
        return found is not None and found.ended

    def _steps(self, status: str, track: Track, by: str) -> list[Transition]:
        return [
            t for t in self.transitions if status in t.sources and track in t.tracks and t.by == by
        ]


def profile_label(kind: str, key: str, language: str) -> str | None:
    """A label a profile file gives a status (``kind`` "status") or a deadline ("deadline")
    that the program's own translations do not know: a new law's new words."""
    for name in profile_names():
        try:
            profile = load_profile(name)
        except ProfileError:
            continue
        found = profile.statuses.get(key) if kind == "status" else profile.deadlines.get(key)
        labels = found.labels if found is not None else {}
        if labels:
            return labels.get(language) or labels.get("en") or next(iter(labels.values()))
    return None


def profile_folders() -> list[Path]:
    extra = os.environ.get(ENVIRONMENT_FOLDER)
    return [Path(extra), BUILT_IN] if extra else [BUILT_IN]


def profile_names() -> tuple[str, ...]:
    names = {path.stem for folder in profile_folders() for path in folder.glob("*.toml")}
    return tuple(sorted(names))


def validate_profile(name: str) -> str:
    """``name`` if a profile file answers to it (raises UnknownProfile otherwise)."""
    load_profile(name)
    return name


@cache
def load_profile(name: str) -> Profile:
    for folder in profile_folders():
        path = folder / f"{name}.toml"
        if path.is_file():
            profile = parse_profile(path.read_text(encoding="utf-8"), expected_name=name)
            _check_replacement(profile)
            return profile
    known = ", ".join(profile_names())
    raise UnknownProfile(f"unknown profile {name!r}: known profiles are {known}")


def profile_in_force(name: str, received_on: date) -> Profile:
    """The rules a case received on ``received_on`` follows when its unit follows profile
    ``name``: the law in force the day it arrived, going back through ``replaces``."""
    profile = load_profile(name)
    while profile.replaces is not None and received_on < profile.replaces.before:
        profile = load_profile(profile.replaces.profile)
    return profile


def _check_replacement(profile: Profile) -> None:
    """The profile a newer one replaces must exist, and take effect earlier."""
    replaced = profile.replaces
    if replaced is None:
        return
    try:
        older = load_profile(replaced.profile)
    except UnknownProfile:
        raise ProfileError(
            f"profile {profile.name} replaces {replaced.profile!r}, which no profile file is"
        ) from None
    if older.replaces is not None and older.replaces.before >= replaced.before:
        raise ProfileError(
            f"profile {profile.name} replaces {older.name}, which took effect on or after it"
        )


def parse_profile(text: str, expected_name: str | None = None) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"profile is not valid TOML: {error}") from None
    return _Reader(data, expected_name).profile()


class _Reader:
    """Turns a profile's TOML tables into a checked Profile."""

    def __init__(self, data: dict[str, Any], expected_name: str | None) -> None:
        self.data = data
        self.name = self._text(data, "name")
        if expected_name is not None and self.name != expected_name:
            raise ProfileError(f"profile file {expected_name!r} names itself {self.name!r}")

    def profile(self) -> Profile:
        statuses = self._statuses()
        profile = Profile(
            name=self.name,
            titles=self._titles(),
            initial_status=self._status_name(self._text(self.data, "initial_status"), statuses),
            statuses=statuses,
            transitions=tuple(self._transition(item, statuses) for item in self._transitions()),
            deadlines={
                key: self._rule(key, table, statuses)
                for key, table in self._table(self.data, "deadlines").items()
            },
            calendar=self._calendar(),
            retention_days=self._positive(self.data, "retention_days"),
            forward_keeps_read_access=bool(self.data.get("forward_keeps_read_access", False)),
            protection_confirmation=self._period(
                self._table(self.data, "protection_confirmation"), "protection_confirmation"
            ),
            protection_decision=self._optional_period("protection_decision"),
            identity_verification_in=self._names(
                self._table(self.data, "identity_verification"), "in", statuses, required=False
            ),
            replaces=self._replacement(),
            protection_end_grounds=self._ground_list(
                self.data.get("protection_end_grounds"), "protection_end_grounds"
            ),
        )
        if not any(status.final for status in statuses.values()):
            raise ProfileError(f"profile {self.name}: no status is final")
        self._check_extension_starts(profile.deadlines)
        return profile

    def _check_extension_starts(self, rules: Mapping[str, DeadlineRule]) -> None:
        for rule in rules.values():
            for key in sorted(rule.start_extensions):
                if key not in rules or rules[key].extension is None:
                    raise ProfileError(
                        f"profile {self.name}: deadline {rule.key} starts on extensions of"
                        f" {key!r}, which is no deadline that can be extended"
                    )

    def _replacement(self) -> Replacement | None:
        table = self._table(self.data, "replaces")
        if not table:
            return None
        before = table.get("before")
        if not isinstance(before, date) or isinstance(before, datetime):
            raise ProfileError(
                f"profile {self.name}: replaces.before is the day the law took effect, a TOML"
                " date such as 2026-07-01"
            )
        older = self._text(table, "profile")
        if older == self.name:
            raise ProfileError(f"profile {self.name} cannot replace itself")
        return Replacement(older, before)

    def _statuses(self) -> dict[str, Status]:
        table = self._table(self.data, "statuses")
        if not table:
            raise ProfileError(f"profile {self.name}: no statuses")
        return {
            name: Status(
                name,
                ended=bool(flags.get("ended", False)),
                final=bool(flags.get("final", False)),
                labels=self._labels(flags, f"status {name}"),
                ends_protection=bool(flags.get("ends_protection", False)),
            )
            for name, flags in table.items()
        }

    def _labels(self, table: dict[str, Any], where: str) -> dict[str, str]:
        labels = table.get("label", {})
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise ProfileError(f"profile {self.name}: the label of {where} is language = text")
        return labels

    def _titles(self) -> dict[str, str]:
        titles = self.data.get("title", {})
        if not isinstance(titles, dict) or not all(isinstance(v, str) for v in titles.values()):
            raise ProfileError(f"profile {self.name}: title is a table of language = text")
        return titles

    def _transitions(self) -> list[dict[str, Any]]:
        items = self.data.get("transitions", [])
        if not isinstance(items, list) or not items:
            raise ProfileError(f"profile {self.name}: no transitions")
        return items

    def _transition(self, item: dict[str, Any], statuses: Mapping[str, Status]) -> Transition:
        by = item.get("by", UNIT_SIDE)
        if by not in (UNIT_SIDE, REPORTER_SIDE):
            raise ProfileError(f"profile {self.name}: 'by' is 'unit' or 'reporter', not {by!r}")
        grounds = item.get("grounds", "optional")
        if grounds not in ("required", "optional"):
            raise ProfileError(f"profile {self.name}: grounds are 'required' or 'optional'")
        return Transition(
            sources=self._names(item, "from", statuses),
            target=self._status_name(self._text(item, "to"), statuses),
            tracks=self._tracks(item),
            by=by,
            grounds_required=grounds == "required",
            legal_grounds=self._ground_list(item.get("legal_grounds"), "a transition"),
        )

    def _ground_list(self, name: object, where: str) -> GroundList | None:
        if name is None:
            return None
        found = GROUND_LISTS.get(name) if isinstance(name, str) else None
        if found is None:
            known = ", ".join(GROUND_LISTS)
            raise ProfileError(
                f"profile {self.name}: the legal_grounds of {where} is one of {known}"
            )
        return found

    def _extension_needs(self, extension: dict[str, Any], key: str) -> tuple[int, ...]:
        """How many grounds each extension in turn needs: one count per extension allowed,
        never fewer than the one before."""
        needs = extension.get("needs", [1] * extension.get("max", 0))
        where = f"deadlines.{key}.extension.needs"
        if (
            not isinstance(needs, list)
            or len(needs) != extension.get("max")
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in needs)
            or needs != sorted(needs)
        ):
            raise ProfileError(
                f"profile {self.name}: {where} gives, for each extension allowed, how many"
                " grounds it needs (at least 1, never fewer than the one before)"
            )
        return tuple(needs)

    def _rule(
        self, key: str, table: dict[str, Any], statuses: Mapping[str, Status]
    ) -> DeadlineRule:
        extension = table.get("extension")
        rule = DeadlineRule(
            key=key,
            tracks=self._tracks(table),
            statutory=bool(table.get("statutory", True)),
            period=self._period(table, f"deadlines.{key}", at_once=True),
            extension=None
            if extension is None
            else Period(self._positive(extension, "length"), self._unit(table)),
            max_extensions=0 if extension is None else self._positive(extension, "max"),
            start=self._names(table, "start", statuses, required=False),
            start_events=self._words(table, "start_events"),
            stop=self._names(table, "stop", statuses, required=False),
            stop_events=self._words(table, "stop_events"),
            pause_in=self._names(table, "pause_in", statuses, required=False),
            labels=self._labels(table, f"deadline {key}"),
            source=self._optional_text(table, "source", f"deadlines.{key}"),
            confidence=self._confidence(table, key),
            start_at_latest=self._latest_start(table, key, statuses),
            count_from=self._names(table, "count_from", statuses, required=False),
            start_extensions=self._words(table, "start_extensions"),
            start_leaving=self._names(table, "start_leaving", statuses, required=False),
            **self._extension_grounds(extension, key),
        )
        starts = (rule.start, rule.start_events, rule.start_extensions, rule.start_leaving)
        if not any(starts) and rule.start_at_latest is None:
            raise ProfileError(f"profile {self.name}: deadline {key} never starts")
        if not rule.stop and not rule.stop_events:
            raise ProfileError(f"profile {self.name}: deadline {key} never stops")
        return rule

    def _extension_grounds(self, extension: dict[str, Any] | None, key: str) -> dict[str, Any]:
        if extension is None or "grounds" not in extension:
            return {}
        where = f"the extension of deadline {key}"
        return {
            "extension_grounds": self._ground_list(extension["grounds"], where),
            "extension_needs": self._extension_needs(extension, key),
        }

    def _optional_text(self, table: dict[str, Any], name: str, where: str) -> str | None:
        value = table.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ProfileError(f"profile {self.name}: {where}.{name} is a text")
        return value

    def _confidence(self, table: dict[str, Any], key: str) -> str | None:
        value = self._optional_text(table, "confidence", f"deadlines.{key}")
        if value is not None and value not in CONFIDENCE:
            known = ", ".join(CONFIDENCE)
            raise ProfileError(f"profile {self.name}: deadlines.{key}.confidence is one of {known}")
        return value

    def _latest_start(
        self, table: dict[str, Any], key: str, statuses: Mapping[str, Status]
    ) -> LatestStart | None:
        latest = table.get("start_at_latest")
        if latest is None:
            return None
        where = f"deadlines.{key}.start_at_latest"
        if not isinstance(latest, dict):
            raise ProfileError(f"profile {self.name}: {where} is a table")
        return LatestStart(self._names(latest, "after", statuses), self._period(latest, where))

    def _calendar(self) -> WorkingCalendar:
        table = self._table(self.data, "calendar")
        return WorkingCalendar(
            country=self._text(table, "country"),
            roll_to_working_day=bool(table.get("roll_to_working_day", False)),
        )

    def _period(self, table: dict[str, Any], where: str, *, at_once: bool = False) -> Period:
        """``at_once``: a deadline's length may be 0, due the day its clock starts (a
        notice the law wants "at once")."""
        if not table:
            raise ProfileError(f"profile {self.name}: {where} needs a length and a unit")
        if at_once and table.get("length") == 0 and type(table.get("length")) is int:
            return Period(0, self._unit(table))
        return Period(self._positive(table, "length"), self._unit(table))

    def _optional_period(self, key: str) -> Period | None:
        table = self._table(self.data, key)
        return self._period(table, key) if table else None

    def _unit(self, table: dict[str, Any]) -> PeriodUnit:
        try:
            return PeriodUnit(str(table.get("unit")))
        except ValueError:
            known = ", ".join(unit.value for unit in PeriodUnit)
            raise ProfileError(f"profile {self.name}: a unit is one of {known}") from None

    def _tracks(self, table: dict[str, Any]) -> frozenset[Track]:
        try:
            return frozenset(Track(value) for value in table.get("tracks", list(Track)))
        except ValueError:
            raise ProfileError(f"profile {self.name}: tracks are 'named' or 'anonymous'") from None

    def _names(
        self,
        table: dict[str, Any],
        key: str,
        statuses: Mapping[str, Status],
        required: bool = True,
    ) -> frozenset[str]:
        names = self._words(table, key)
        if required and not names:
            raise ProfileError(f"profile {self.name}: {key!r} lists no status")
        return frozenset(self._status_name(name, statuses) for name in names)

    def _status_name(self, name: str, statuses: Mapping[str, Status]) -> str:
        if name not in statuses:
            raise ProfileError(f"profile {self.name}: unknown status {name!r}")
        return name

    def _words(self, table: dict[str, Any], key: str) -> frozenset[str]:
        values = table.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ProfileError(f"profile {self.name}: {key!r} is a list of names")
        return frozenset(values)

    def _table(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise ProfileError(f"profile {self.name}: {key!r} is a table")
        return value

    def _text(self, table: dict[str, Any], key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            raise ProfileError(f"profile {getattr(self, 'name', '?')}: {key!r} is missing")
        return value

    def _positive(self, table: dict[str, Any], key: str) -> int:
        value = table.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ProfileError(f"profile {self.name}: {key!r} is a positive whole number")
        return value
