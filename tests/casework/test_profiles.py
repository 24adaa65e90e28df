"""Policy profiles load from data files, are checked whole, and a new one needs no code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from casework import profiles
from casework.calendar import PeriodUnit
from casework.deadlines import STATUS, Step, running
from casework.profiles import BUILT_IN, ProfileError, load_profile, parse_profile
from store.models import Track

VN_TEXT = (BUILT_IN / "vn-denunciation-2018.toml").read_text(encoding="utf-8")


def test_the_built_in_profiles_load_with_the_figures_of_domain_md() -> None:
    vn = load_profile("vn-denunciation-2018")
    triage = vn.deadlines["triage"]
    assert (triage.period.length, triage.period.unit, triage.max_extensions) == (
        7,
        PeriodUnit.WORKING_DAYS,
        1,
    )
    resolution = vn.deadlines["resolution"]
    assert (resolution.period.length, resolution.period.unit) == (30, PeriodUnit.DAYS)
    assert (resolution.max_extensions, resolution.pause_in) == (2, frozenset({"suspended"}))
    assert vn.deadlines["escalation"].period.length == 5
    assert vn.calendar.country == "VN"
    assert vn.is_final("closed")
    eu = load_profile("eu-2019-1937")
    assert eu.deadlines["acknowledgement"].period.length == 7
    feedback = eu.deadlines["feedback"]
    assert (feedback.period.length, feedback.period.unit) == (3, PeriodUnit.MONTHS)
    assert (feedback.extension, feedback.max_extensions) == (None, 0)
    latest = feedback.start_at_latest
    assert latest is not None
    assert (latest.after, latest.period.length) == (frozenset({"received"}), 7)


def test_every_rule_of_the_eu_profile_names_its_source_and_how_sure_the_reading_is() -> None:
    for rule in load_profile("eu-2019-1937").deadlines.values():
        assert rule.source is not None
        assert rule.source.startswith("Directive (EU) 2019/1937")
        assert rule.confidence == "high"


@pytest.mark.parametrize("name", ["vn-denunciation-2018", "vn-denunciation-2026", "eu-2019-1937"])
def test_every_rule_names_its_source_and_a_law_how_sure_its_reading_is(name: str) -> None:
    """The review app shows each source; a unit's target says it is one."""
    for rule in load_profile(name).deadlines.values():
        assert rule.source is not None, rule.key
        if rule.statutory:
            assert rule.confidence is not None, rule.key
        else:
            assert rule.source.startswith("the unit's own target"), rule.key


EU_TEXT = (BUILT_IN / "eu-2019-1937.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('confidence = "high"', 'confidence = "certain"', "confidence is one of high, medium"),
        ('source = "Directive', "source = 9 # ", "source is a text"),
        ('after = ["received"]', 'after = ["arrived"]', "unknown status 'arrived'"),
        ("start_at_latest = { after", "start_at_latest = 7\n# { after", "is a table"),
    ],
)
def test_a_broken_source_or_latest_start_is_one_clear_error(
    old: str, new: str, message: str
) -> None:
    assert old in EU_TEXT
    with pytest.raises(ProfileError, match=message):
        parse_profile(EU_TEXT.replace(old, new, 1))


def test_the_vn_profile_ties_extensions_and_suspensions_to_the_law_s_lists() -> None:
    vn = load_profile("vn-denunciation-2018")
    resolution = vn.deadlines["resolution"]
    assert resolution.extension_grounds is not None
    assert resolution.extension_grounds.name == "nd31-art3"
    assert len(resolution.extension_grounds.grounds) == 7  # NĐ31 Art. 3(2)(a)-(g)
    assert [resolution.grounds_needed(used) for used in (0, 1)] == [1, 2]
    assert vn.deadlines["triage"].extension_grounds is None
    assert vn.deadlines["triage"].grounds_needed(0) == 0
    [suspension] = [t for t in vn.transitions if t.target == "suspended"]
    assert suspension.legal_grounds is not None
    assert suspension.legal_grounds.keys == ("awaiting_other_result", "awaiting_expert_result")
    assert vn.deadlines["extension_notice"].start_extensions == frozenset({"resolution"})
    assert vn.deadlines["resumption_notice"].start_leaving == frozenset({"suspended"})


def test_a_profile_without_lists_of_grounds_is_unaffected() -> None:
    eu = load_profile("eu-2019-1937")
    assert all(t.legal_grounds is None for t in eu.transitions)
    assert all(rule.extension_grounds is None for rule in eu.deadlines.values())


def test_every_status_of_the_vn_profile_is_reachable_and_every_one_but_closed_can_move() -> None:
    vn = load_profile("vn-denunciation-2018")
    reached = {vn.initial_status} | {t.target for t in vn.transitions}
    assert reached == set(vn.statuses)
    for name in vn.statuses:
        moves = [t for t in vn.transitions if name in t.sources]
        assert bool(moves) != vn.is_final(name), name


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('to = "concluded"', 'to = "decided"', "unknown status 'decided'"),
        ('unit = "working_days"', 'unit = "fortnights"', "a unit is one of"),
        ("length = 7\n", "length = -1\n", "'length' is a positive whole number"),
        ('tracks = ["named"]', 'tracks = ["secret"]', "tracks are 'named' or 'anonymous'"),
        ('by = "reporter"', 'by = "anyone"', "'by' is 'unit' or 'reporter'"),
        (
            "closed = { ended = true, final = true }",
            "closed = { ended = true }",
            "no status is final",
        ),
        ("[calendar]", "[calendar", "not valid TOML"),
        (
            'legal_grounds = "ltc-art34"',
            'legal_grounds = "art-99"',
            "legal_grounds of a transition",
        ),
        ('grounds = "nd31-art3"', 'grounds = "art-99"', "the extension of deadline resolution"),
        ("needs = [1, 2]", "needs = [1]", "for each extension allowed"),
        ("needs = [1, 2]", "needs = [2, 1]", "never fewer than the one before"),
        ("needs = [1, 2]", "needs = [0, 1]", "at least 1"),
        (
            'start_extensions = ["resolution"]',
            'start_extensions = ["notification"]',
            "extensions of 'notification', which is no deadline that can be extended",
        ),
        (
            'start_leaving = ["suspended"]',
            'start_leaving = ["paused"]',
            "unknown status 'paused'",
        ),
    ],
)
def test_a_broken_profile_is_one_clear_error(old: str, new: str, message: str) -> None:
    assert old in VN_TEXT
    with pytest.raises(ProfileError, match=message):
        parse_profile(VN_TEXT.replace(old, new, 1))


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(profiles.UnknownProfile, match="known profiles are eu-2019-1937"):
        load_profile("vn-2030")


def test_a_new_profile_is_a_new_file_not_a_code_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Say an amendment shortens triage to 5 working days and adds a status.
    text = (
        VN_TEXT.replace('name = "vn-denunciation-2018"', 'name = "vn-denunciation-2031"')
        .replace("length = 7\n", "length = 5\n", 1)
        .replace(
            "received = {}",
            'received = {}\nregistered = { label = { en = "Registered", vi = "Đã vào sổ" } }',
        )
        .replace('from = ["received"]\nto = "triage"', 'from = ["received"]\nto = "registered"')
    )
    text += '\n[[transitions]]\nfrom = ["registered"]\nto = "triage"\n'
    (tmp_path / "vn-denunciation-2031.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv(profiles.ENVIRONMENT_FOLDER, str(tmp_path))
    assert "vn-denunciation-2031" in profiles.profile_names()
    amended = load_profile("vn-denunciation-2031")
    assert amended.next_statuses("received", Track.NAMED)[0] == "registered"
    start = [Step(date(2027, 2, 1), STATUS, status="received")]
    [triage] = running(amended, Track.NAMED, start, date(2027, 2, 1))
    assert triage.due_on == date(2027, 2, 15)  # five working days across Tết
    # Its new status brings its own words, which the apps show (tests/review/test_workflow).
    assert profiles.profile_label("status", "registered", "vi") == "Đã vào sổ"
    assert profiles.profile_label("status", "registered", "fr") == "Registered"
    assert profiles.profile_label("status", "nowhere", "vi") is None


def test_a_file_must_carry_its_own_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "copy.toml").write_text(VN_TEXT, encoding="utf-8")
    monkeypatch.setenv(profiles.ENVIRONMENT_FOLDER, str(tmp_path))
    with pytest.raises(ProfileError, match="names itself"):
        load_profile("copy")


# --- the law in force on the day a case was received -----------------------------------

VN_2026_TEXT = (BUILT_IN / "vn-denunciation-2026.toml").read_text(encoding="utf-8")


def test_the_2026_profile_replaces_the_2018_one_from_1_july_2026() -> None:
    vn = load_profile("vn-denunciation-2026")
    assert vn.replaces is not None
    assert (vn.replaces.profile, vn.replaces.before) == ("vn-denunciation-2018", date(2026, 7, 1))
    assert profiles.DEFAULT_PROFILE == "vn-denunciation-2026"
    in_force = profiles.profile_in_force
    assert in_force("vn-denunciation-2026", date(2026, 6, 30)).name == "vn-denunciation-2018"
    assert in_force("vn-denunciation-2026", date(2026, 7, 1)).name == "vn-denunciation-2026"
    assert in_force("vn-denunciation-2018", date(2027, 1, 1)).name == "vn-denunciation-2018"
    # No period changed (DOMAIN.md, "Amendments"): the same clocks, the same statuses.
    old = load_profile("vn-denunciation-2018")
    assert set(vn.statuses) == set(old.statuses)
    assert {k: r.period for k, r in vn.deadlines.items()} == {
        k: r.period for k, r in old.deadlines.items()
    }
    [going_on] = [t for t in vn.transitions if t.sources == {"withdrawn"} and t.legal_grounds]
    assert going_on.legal_grounds is not None
    assert going_on.legal_grounds.name == "nd31-art4-2026"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("before = 2026-07-01", 'before = "2026-07-01"', "a TOML date such as 2026-07-01"),
        (
            'profile = "vn-denunciation-2018"',
            'profile = "vn-denunciation-2026"',
            "cannot replace itself",
        ),
    ],
)
def test_a_broken_replacement_is_one_clear_error(old: str, new: str, message: str) -> None:
    assert old in VN_2026_TEXT
    with pytest.raises(ProfileError, match=message):
        parse_profile(VN_2026_TEXT.replace(old, new, 1))


def write_profile(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.toml").write_text(
        text.replace('name = "vn-denunciation-2026"', f'name = "{name}"'), encoding="utf-8"
    )


def test_a_replaced_profile_must_exist_and_take_effect_earlier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(profiles.ENVIRONMENT_FOLDER, str(tmp_path))
    load_profile.cache_clear()
    write_profile(
        tmp_path, "vn-orphan", VN_2026_TEXT.replace('"vn-denunciation-2018"', '"vn-1998"')
    )
    write_profile(
        tmp_path, "vn-backwards",
        VN_2026_TEXT.replace("before = 2026-07-01", "before = 2026-01-01").replace(
            '"vn-denunciation-2018"', '"vn-denunciation-2026"'
        ),
    )  # fmt: skip
    try:
        with pytest.raises(ProfileError, match="replaces 'vn-1998', which no profile file is"):
            load_profile("vn-orphan")
        with pytest.raises(ProfileError, match="which took effect on or after it"):
            load_profile("vn-backwards")
    finally:
        load_profile.cache_clear()
