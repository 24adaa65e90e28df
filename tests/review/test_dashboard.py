"""The supervisors' dashboard screens: who may see them, charts that are plain SVG without
script, data tables, and CSV and PDF exports that carry counts and labels only.

Canaries: every case gets its own public id and distinctive dates, and no page, chart or
export may contain a public id, a reference or a date of a single case.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from casework.dates import unit_today
from casework.intake import public_reference
from review.views import dashboard as views
from store.models import (
    AuditEntry,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
    RetaliationKind,
)
from tests.review.conftest import Account, post_login
from tests.store.factories import add_case, add_unit
from tests.worlds import World

SVG = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Canaries:
    public_ids: list[str]
    dates: list[date]

    def strings(self) -> list[str]:
        found = [*self.public_ids, *(public_reference(pid) for pid in self.public_ids)]
        found += [pid.replace("-", "") for pid in self.public_ids]
        return found + [day.isoformat() for day in self.dates]


def odd_day(today: date, back: int) -> date:
    """A date ``back`` days before ``today`` that is neither today nor a first of a month."""
    day = today - timedelta(days=back)
    return day + timedelta(days=1) if day.day == 1 else day


@pytest.fixture
def canaries(session: Session, world: World) -> Canaries:
    today = unit_today()
    received = [odd_day(today, back) for back in (3, 40, 75)]
    due = [today - timedelta(days=9), today + timedelta(days=5), today + timedelta(days=40)]
    closed = odd_day(today, 2)
    cases = [
        add_case(session, world.unit, status="verifying", category="land", received_on=received[0]),
        add_case(
            session,
            world.unit,
            status="triage",
            category="procurement",
            received_on=received[1],
            next_due=due[0],
        ),
        add_case(
            session,
            world.unit,
            status="accepted",
            category="land",
            received_on=received[2],
            next_due=due[1],
        ),
        add_case(
            session, world.unit, status="closed", category="land", closed_on=closed, next_due=None
        ),
        add_case(session, world.unit, status="verifying", next_due=due[2]),
    ]
    other = add_case(session, add_unit(session, "so-tai-chinh"), status="verifying")
    session.add_all(
        [
            ProtectionRecord(
                case=cases[0],
                person=ProtectedPerson.REPORTER,
                category=ProtectionCategory.JOB,
                state=ProtectionState.ACTIVE,
                requested_by=Party.REPORTER,
                requested_on=received[0],
            ),
            ProtectionRecord(
                case=cases[1],
                person=ProtectedPerson.SPOUSE,
                category=ProtectionCategory.LIFE_HEALTH,
                state=ProtectionState.REQUESTED,
                urgent=True,
                requested_by=Party.REPORTER,
                requested_on=received[1],
            ),
            RetaliationIncident(
                case=cases[0],
                kind=RetaliationKind.DEMOTION,
                reported_on=received[0],
                source=Party.REPORTER,
            ),
        ]
    )
    session.commit()
    return Canaries(
        public_ids=[case.public_id for case in [*cases, other]],
        dates=[*received, *due, closed],
    )


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    assert post_login(client, account).status_code == 303
    return client


def assert_no_canary(text: str, canaries: Canaries) -> None:
    lowered = text.lower()
    for canary in canaries.strings():
        assert canary.lower() not in lowered, canary


# --- who may see it -------------------------------------------------------------------------

PATHS = ["/dashboard", "/dashboard/charts/status.svg", "/dashboard/figures.csv"]


@pytest.mark.parametrize("path", PATHS)
def test_only_supervisors_and_custodians(
    app: Flask, accounts: dict[str, Account], path: str
) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=/dashboard")
    for name in ("lan", "minh", "admin"):
        assert signed_in(app, accounts[name]).get(path).status_code == 403
    for name in ("son", "hoa"):
        assert signed_in(app, accounts[name]).get(path).status_code == 200


# --- the page and its charts ---------------------------------------------------------------


def test_the_page_shows_every_chart_with_its_table_and_no_identifier(
    app: Flask, accounts: dict[str, Account], canaries: Canaries
) -> None:
    page = signed_in(app, accounts["son"]).get("/dashboard").get_data(as_text=True)
    images = re.findall(r'<img src="([^"]+)"[^>]* alt="([^"]+)"', page)
    assert [src for src, _alt in images] == [
        f"/dashboard/charts/{name}.svg" for name in views.CHART_NAMES
    ]
    assert all(alt.startswith("Chart: ") for _src, alt in images)
    for name in views.CHART_NAMES:  # each chart is followed by its data table
        assert page.index(f"/dashboard/charts/{name}.svg") < page.index(f'id="table-{name}"')
    assert "<script" not in page
    assert " style=" not in page
    summary = page[page.index('id="table-summary"') :].split("</table>")[0]
    assert re.search(r"Open cases</th>\s*<td>4</td>", summary)
    assert re.search(r"Overdue</th>\s*<td>1</td>", summary)
    assert re.search(r"Due within 14 days</th>\s*<td>1</td>", summary)
    status = page[page.index('id="table-status"') :].split("</table>")[0]
    assert re.search(r"Verifying</th>\s*<td>2</td>", status)
    assert 'href="/dashboard/figures.csv"' in page
    assert_no_canary(page, canaries)


@pytest.mark.parametrize("name", views.CHART_NAMES)
def test_charts_are_svg_without_script_or_outside_reference(
    app: Flask, accounts: dict[str, Account], canaries: Canaries, name: str
) -> None:
    response = signed_in(app, accounts["son"]).get(f"/dashboard/charts/{name}.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    text = response.get_data(as_text=True)
    root = ElementTree.fromstring(response.data)  # noqa: S314 - the app's own output
    assert root.tag == f"{SVG}svg"
    assert not [node for node in root.iter() if node.tag.endswith("script")]
    assert "<script" not in text.lower()
    for node in root.iter():
        for attribute, value in node.attrib.items():
            assert not attribute.lower().startswith("on"), attribute
            assert "://" not in value, (attribute, value)
            assert not value.startswith("//"), (attribute, value)
    assert "@import" not in text
    assert "url(" not in text
    assert_no_canary(text, canaries)


def test_a_chart_shows_its_labels_and_an_unknown_chart_is_404(
    app: Flask, accounts: dict[str, Account], canaries: Canaries
) -> None:
    client = signed_in(app, accounts["son"])
    text = client.get("/dashboard/charts/status.svg").get_data(as_text=True)
    assert "Cases by status" in text
    assert "Verifying" in text
    assert "Triage" in text
    assert client.get("/dashboard/charts/nope.svg").status_code == 404


def test_an_empty_unit_still_renders(app: Flask, accounts: dict[str, Account]) -> None:
    client = signed_in(app, accounts["son"])
    assert client.get("/dashboard").status_code == 200
    for name in views.CHART_NAMES:
        response = client.get(f"/dashboard/charts/{name}.svg")
        assert response.status_code == 200
        ElementTree.fromstring(response.data)  # noqa: S314 - the app's own output


def test_the_charts_reuse_the_counts_of_the_page(
    app: Flask, accounts: dict[str, Account], canaries: Canaries, session: Session, world: World
) -> None:
    """One page view counts once; a chart drawn right after shows the same numbers even
    if a case arrived in between. The exports always count anew."""
    client = signed_in(app, accounts["son"])
    client.get("/dashboard")
    add_case(session, world.unit, status="verifying")  # a third one
    session.commit()
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        chart = client.get("/dashboard/charts/status.svg").get_data(as_text=True)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert not [sql for sql in seen if "count(" in sql]
    assert ">2</text>" in chart  # "Verifying": 2, as on the page...
    assert ">3</text>" not in chart  # ...neither a bar nor an axis reaches 3
    rows = csv.DictReader(
        io.StringIO(client.get("/dashboard/figures.csv").data.decode("utf-8-sig"))
    )
    verifying = [
        row["count"] for row in rows if (row["section"], row["item"]) == ("status", "verifying")
    ]
    assert verifying == ["3"]


# --- exports --------------------------------------------------------------------------------


def exports(session: Session) -> list[dict[str, object]]:
    session.rollback()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == views.EXPORTED))
    return [dict(entry.details) for entry in entries]


def test_the_csv_export_holds_the_figures_and_is_audited(
    app: Flask, accounts: dict[str, Account], canaries: Canaries, session: Session
) -> None:
    response = signed_in(app, accounts["son"]).get("/dashboard/figures.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    text = response.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == views.CSV_HEADER
    values = {(row["section"], row["item"], row["measure"]): int(row["count"]) for row in rows}
    assert values[("summary", "total", "count")] == 5
    assert values[("status", "verifying", "cases")] == 2
    assert values[("category", "land", "cases")] == 4
    assert values[("deadlines", "overdue", "cases")] == 1
    assert values[("protection", "active", "records")] == 1
    assert values[("summary", "urgent_pending", "count")] == 1
    assert values[("retaliation", "demotion", "incidents")] == 1
    month = unit_today().strftime("%Y-%m")
    assert values[("months", month, "closed")] >= 1
    assert {row["as_of"] for row in rows} == {unit_today().isoformat()}
    assert_no_canary(text.replace(unit_today().isoformat(), ""), canaries)
    assert [entry["format"] for entry in exports(session)] == ["csv"]


def test_a_cell_that_looks_like_a_formula_is_defused() -> None:
    assert views._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert views._cell("-1") == "'-1"
    assert views._cell(3) == 3


def test_the_pdf_export_holds_the_figures_as_text_and_is_audited(
    app: Flask, accounts: dict[str, Account], canaries: Canaries, session: Session
) -> None:
    response = signed_in(app, accounts["hoa"]).get("/dashboard/figures.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data)
    for expected in ("Progress dashboard", "Cases by status", "Verifying", "Retaliation"):
        assert expected in text
    assert "Thanh tra tỉnh" in text  # the unit's name, in Vietnamese, through the Unicode font
    assert_no_canary(text.replace(unit_today().isoformat(), ""), canaries)
    assert_no_canary(response.data.decode("latin-1"), canaries)
    assert [entry["format"] for entry in exports(session)] == ["pdf"]


def test_vietnamese_labels_reach_the_charts_and_the_pdf(
    app: Flask, accounts: dict[str, Account], canaries: Canaries
) -> None:
    client = signed_in(app, accounts["son"])
    client.get("/language/vi?next=/dashboard")
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="vi">' in page
    chart = client.get("/dashboard/charts/months.svg")
    assert chart.status_code == 200
    ElementTree.fromstring(chart.data)  # noqa: S314 - the app's own output
    pdf = client.get("/dashboard/figures.pdf")
    assert pdf.status_code == 200
    assert "Thanh tra tỉnh" in pdf_text(pdf.data)


# --- reading text back out of fpdf2's output (no PDF library among the dependencies) --------

_OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_SHOW = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) ?Tj|<([0-9A-Fa-f]+)> ?Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def pdf_text(data: bytes) -> str:
    """The text of every ``Tj`` in the document, mapped through each font's ToUnicode."""
    objects = {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(data)}
    cmaps = {
        name.decode(): _cmap(_stream(objects[int(cmap)]))
        for name, font in re.findall(rb"/(F\d+) (\d+) 0 R", data)
        for cmap in re.findall(rb"/ToUnicode (\d+) 0 R", objects[int(font)])
    }
    text: list[str] = []
    for body in objects.values():
        content = _stream(body)
        if b"Tf" not in content:
            continue
        font = ""
        for match in _SHOW.finditer(content):
            if match.group(1):
                font = match.group(1).decode()
                continue
            raw = _unescape(match.group(2)) if match.group(2) is not None else None
            codes = raw if raw is not None else bytes.fromhex(match.group(3).decode())
            text.append(_decode(codes, cmaps[font]))
    return "\n".join(text)


def _stream(body: bytes) -> bytes:
    found = _STREAM.search(body)
    if found is None:
        return b""
    return zlib.decompress(found.group(1)) if b"/FlateDecode" in body else found.group(1)


def _cmap(data: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, char in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section):
            mapping[int(code, 16)] = bytes.fromhex(char.decode()).decode("utf-16-be")
    for section in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, start in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section
        ):
            for offset in range(int(high, 16) - int(low, 16) + 1):
                mapping[int(low, 16) + offset] = chr(int(start, 16) + offset)
    return mapping


def _unescape(literal: bytes) -> bytes:
    out, index = bytearray(), 0
    while index < len(literal):
        byte = literal[index : index + 1]
        if byte != b"\\":
            out += byte
            index += 1
            continue
        following = literal[index + 1 : index + 2]
        octal = re.match(rb"[0-7]{1,3}", literal[index + 1 : index + 4])
        if octal:
            out.append(int(octal.group(0), 8))
            index += 1 + len(octal.group(0))
        else:
            out += _ESCAPES.get(following, following)
            index += 2
    return bytes(out)


def _decode(codes: bytes, cmap: dict[int, str]) -> str:
    pairs = (codes[i : i + 2] for i in range(0, len(codes) - 1, 2))
    return "".join(cmap.get(int.from_bytes(pair, "big"), "?") for pair in pairs)
