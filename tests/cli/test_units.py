"""`minhbach unit add|list|set-reception`."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casework import reception
from casework.categories import DEFAULT_CATEGORIES
from cli import units
from store.models import AuditEntry, Unit
from tests.cli.helpers import UNIT, Invoke, add_unit, assert_ok, assert_refused


def stored_unit(database: sessionmaker[Session], slug: str = UNIT) -> Unit:
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == slug))
    assert unit is not None
    return unit


def test_unit_add_stores_defaults(invoke: Invoke, database: sessionmaker[Session]) -> None:
    output = assert_ok(invoke("unit", "add", "--slug", UNIT, "--name", "  Thanh tra tỉnh "))

    unit = stored_unit(database)
    assert unit.name == "Thanh tra tỉnh"
    assert unit.profile == "vn-denunciation-2026"
    assert unit.categories == list(DEFAULT_CATEGORIES)
    assert unit.reception_schedule == ""
    assert unit.escrow_public_key is None
    assert f"Created unit {UNIT}" in output


def test_unit_add_stores_given_profile_categories_and_schedule(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    add_unit(
        invoke,
        UNIT,
        "--profile",
        "eu-2019-1937",
        "--category",
        "procurement",
        "--category",
        "land-2",
        "--reception-schedule",
        "Thứ Năm đầu tiên hằng tháng",
    )
    unit = stored_unit(database)
    assert unit.profile == "eu-2019-1937"
    assert unit.categories == ["procurement", "land-2"]  # in the order given
    assert unit.reception_schedule == "Thứ Năm đầu tiên hằng tháng"


def test_unit_list_shows_units_with_account_counts_and_escrow(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    assert "No units yet" in assert_ok(invoke("unit", "list"))
    add_unit(invoke, "so-tai-chinh")
    add_unit(invoke, UNIT)

    lines = assert_ok(invoke("unit", "list")).splitlines()
    assert lines[0].split() == [
        "slug",
        "name",
        "profile",
        "categories",
        "users",
        "superior",
        "escrow",
        "key",
    ]
    assert lines[1].split()[0] == "so-tai-chinh"  # sorted by slug
    assert lines[2].split() == [
        UNIT,
        "Thanh",
        "tra",
        "tỉnh",
        "vn-denunciation-2026",
        str(len(DEFAULT_CATEGORIES)),
        "0",
        "-",
        "none",
    ]


def test_duplicate_slug_is_refused(invoke: Invoke, database: sessionmaker[Session]) -> None:
    add_unit(invoke)
    result = invoke("unit", "add", "--slug", UNIT, "--name", "Another")
    assert_refused(result, f"a unit with slug '{UNIT}' already exists")
    assert stored_unit(database).name == "Thanh tra tỉnh"


def test_duplicate_slug_caught_only_by_the_database_is_still_friendly(
    invoke: Invoke, database: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two administrators at once: the pre-check passes for both, the unique index decides."""
    add_unit(invoke)
    monkeypatch.setattr(units, "refuse_taken_slug", lambda _session, _slug: None)
    result = invoke("unit", "add", "--slug", UNIT, "--name", "Another")
    assert_refused(result, "a unit with this slug already exists")
    assert "INSERT" not in result.output


NAME = ("--name", "Thanh tra tỉnh")
SLUG = ("--slug", UNIT)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--slug", "Thanh Tra", *NAME), "Invalid value for '--slug': a unit slug is 1-32 of a-z"),
        (("--slug", "-x", *NAME), "Invalid value for '--slug'"),
        (("--slug", "a" * 33, *NAME), "Invalid value for '--slug'"),
        ((*SLUG, "--name", "   "), "Invalid value for '--name': must not be empty"),
        ((*SLUG, "--name", "x" * 201), "at most 200 characters"),
        ((*SLUG, *NAME, "--profile", "vn-2025"), "Invalid value for '--profile'"),
        ((*SLUG, *NAME, "--category", "Đất đai"), "invalid category 'Đất đai'"),
        (
            (*SLUG, *NAME, "--category", "land", "--category", "land"),
            "category 'land' is listed twice",
        ),
        ((*NAME,), "Missing option '--slug'"),
    ],
)
def test_bad_unit_input_is_refused_before_anything_is_stored(
    invoke: Invoke, database: sessionmaker[Session], args: tuple[str, ...], message: str
) -> None:
    assert_refused(invoke("unit", "add", *args), message)
    with database() as session:
        assert session.scalars(select(Unit)).all() == []


def test_unit_set_reception_publishes_the_schedule_and_audits_it(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    add_unit(invoke, UNIT)
    schedule = " Thứ Năm đầu tiên hằng tháng, 8h-11h\r\nPhòng tiếp công dân, 12 Lê Lợi "
    output = assert_ok(invoke("unit", "set-reception", UNIT, schedule))
    stored = "Thứ Năm đầu tiên hằng tháng, 8h-11h\nPhòng tiếp công dân, 12 Lê Lợi"
    assert stored in output
    assert stored_unit(database).reception_schedule == stored
    with database() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == reception.RECEPTION_SET)
        ).all()
    assert (entry.actor, entry.target, entry.details) == ("cli", UNIT, {"schedule": stored})
    assert "publishes no reception schedule" in assert_ok(
        invoke("unit", "set-reception", UNIT, "  ")
    )
    assert stored_unit(database).reception_schedule == ""


def test_unit_set_reception_refuses_an_overlong_schedule_and_keeps_the_old_one(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    add_unit(invoke, UNIT, "--reception-schedule", "Thứ Hai")
    too_long = "x" * (reception.MAX_SCHEDULE_CHARS + 1)
    assert_refused(invoke("unit", "set-reception", UNIT, too_long), "at most 2000 characters")
    assert stored_unit(database).reception_schedule == "Thứ Hai"
    assert_refused(invoke("unit", "set-reception", "no-such-unit", "Thứ Hai"))


# --- the directly superior unit (LTC Art. 37-38) ---------------------------------------------


def superior_of(database: sessionmaker[Session], slug: str) -> str | None:
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == slug))
        assert unit is not None
        return unit.superior.slug if unit.superior else None


def test_a_unit_added_under_a_superior_names_it_and_the_list_shows_it(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    add_unit(invoke, "tinh")
    output = assert_ok(
        invoke("unit", "add", "--slug", "xa", "--name", "UBND xã", "--superior", "tinh")
    )
    assert "directly superior unit is tinh" in output
    assert superior_of(database, "xa") == "tinh"
    assert superior_of(database, "tinh") is None
    rows = {line.split()[0]: line for line in assert_ok(invoke("unit", "list")).splitlines()}
    assert " tinh " in rows["xa"]


def test_an_unknown_superior_is_refused_and_no_unit_is_added(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    result = invoke("unit", "add", "--slug", "xa", "--name", "UBND xã", "--superior", "huyen")
    assert_refused(result, "no unit 'huyen'")
    with database() as session:
        assert session.scalar(select(Unit).where(Unit.slug == "xa")) is None


def test_set_superior_changes_and_removes_it_audited(
    invoke: Invoke, database: sessionmaker[Session]
) -> None:
    add_unit(invoke, "tinh")
    add_unit(invoke, "xa")
    assert "is tinh" in assert_ok(invoke("unit", "set-superior", "xa", "tinh"))
    assert superior_of(database, "xa") == "tinh"
    assert "no superior unit" in assert_ok(invoke("unit", "set-superior", "xa", "none"))
    assert superior_of(database, "xa") is None
    with database() as session:
        changes = session.scalars(
            select(AuditEntry).where(AuditEntry.action == units.SUPERIOR_SET)
        ).all()
        assert [entry.details for entry in changes] == [
            {"from": None, "to": "tinh"},
            {"from": "tinh", "to": None},
        ]


@pytest.mark.parametrize(
    ("unit", "superior", "cycle"),
    [("tinh", "tinh", "tinh -> tinh"), ("tinh", "xa", "tinh -> xa -> tinh")],
)
def test_a_cycle_of_superiors_is_refused_and_nothing_changes(
    invoke: Invoke, database: sessionmaker[Session], unit: str, superior: str, cycle: str
) -> None:
    add_unit(invoke, "tinh")
    add_unit(invoke, "xa", "--superior", "tinh")
    result = invoke("unit", "set-superior", unit, superior)
    assert_refused(result, f"that would make a cycle ({cycle})")
    assert superior_of(database, "tinh") is None
    assert superior_of(database, "xa") == "tinh"
