"""The unit's citizen reception schedule on the public pages where a tipster looks for
how to report, or follow a report, in person: the report form and the follow-up page, in
both languages."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from casework import reception
from tests.worlds import World

PAGES = ("/", "/report", "/followup")
SCHEDULE = "Thứ Năm đầu tiên hằng tháng, 8h-11h\nPhòng tiếp công dân, số 12 Lê Lợi"


@pytest.mark.parametrize("path", PAGES)
def test_each_page_shows_the_schedule_with_its_line_breaks(
    client: FlaskClient, session: Session, world: World, path: str
) -> None:
    reception.set_schedule(world.unit, SCHEDULE)
    session.commit()
    page = client.get(path).text
    assert 'id="reception-schedule"' in page
    assert SCHEDULE in page  # .schedule keeps the line break (white-space: pre-line)
    assert "Meet us in person" in page
    assert "printed receipt with a follow-up code" in page


@pytest.mark.parametrize("path", PAGES)
def test_in_vietnamese_too(client: FlaskClient, session: Session, world: World, path: str) -> None:
    reception.set_schedule(world.unit, SCHEDULE)
    session.commit()
    assert client.get("/language/vi").status_code == 303
    page = client.get(path).text
    assert '<html lang="vi">' in page
    assert SCHEDULE in page
    assert "Meet us in person" not in page


def test_without_a_schedule_the_pages_say_so(
    client: FlaskClient, session: Session, world: World
) -> None:
    reception.set_schedule(world.unit, "")
    session.commit()
    for path in PAGES:
        assert "The unit has not published a reception schedule yet." in client.get(path).text


def test_the_schedule_is_text_never_markup(
    client: FlaskClient, session: Session, world: World
) -> None:
    reception.set_schedule(world.unit, '<script>alert(1)</script> <a href="x">Thứ Hai</a>')
    session.commit()
    page = client.get("/report").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_control_characters_are_dropped_and_line_breaks_kept(world: World) -> None:
    stored = reception.set_schedule(world.unit, "  Thứ Hai\r\nThứ Ba\x00\x1b\r Thứ Tư  ")
    assert stored == "Thứ Hai\nThứ Ba\n Thứ Tư"
