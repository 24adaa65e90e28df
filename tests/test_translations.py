"""Every string a person can read has a Vietnamese translation, and the catalogues work.

The messages are extracted here, in-process, from the source itself (the method map of
``babel.cfg``, the keywords of ``make messages``), so a string added without running
``make messages`` fails as surely as one left untranslated. The catalogues are compiled
into a temporary directory and a page is rendered with them, so the test proves what a
reader sees, without depending on ``make translations`` having run.

To fix a failure: ``make messages``, translate what it lists in
``web/translations/vi/LC_MESSAGES/messages.po`` (no ``#, fuzzy`` left, the same
``%(name)s`` placeholders), then ``make translations``.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import PYTHON_FORMAT, Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from casework.settings import Settings
from submit import create_app
from tests.submit.conftest import TEST_ENV
from tests.worlds import build_world

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "web" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"

# Babel's defaults (gettext, ngettext, pgettext, ...), the ``-k _l`` of ``make messages``,
# and Flask-Babel's lazy functions under their own names.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
}

Key = tuple[str, str | None]  # (msgid, or the singular msgid of a plural; msgctxt)


def method_map() -> list[tuple[str, str]]:
    """The file patterns and extraction methods of babel.cfg, as pybabel reads them (its
    ``[extractors]`` resolved to their functions)."""
    parse: Callable[..., tuple[list[tuple[str, str]], dict[str, Any]]] = parse_mapping_cfg
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        mapping, _options = parse(config, filename="babel.cfg")
    assert mapping, "babel.cfg maps no files"
    return mapping


def ids(message: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A msgid or msgstr as a tuple of its forms (one unless plural)."""
    if message is None:
        return ("",)
    return (message,) if isinstance(message, str) else tuple(message)


def placeholders(text: str) -> list[tuple[str, str]]:
    """The ``%`` conversions of a string, by name and type, sorted (``%%`` included)."""
    return sorted((name, kind) for name, _flags, kind in PYTHON_FORMAT.findall(text))


def located(where: Iterable[str]) -> str:
    return ", ".join(sorted(where)[:2])


@pytest.fixture(scope="module")
def source() -> dict[Key, tuple[tuple[str, ...], set[str]]]:
    """Every message of the source: its msgid (and plural), and where it is used."""
    found: dict[Key, tuple[tuple[str, ...], set[str]]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map(), keywords=KEYWORDS
    ):
        msgids = ids(message)
        if not msgids[0]:
            continue
        _known, where = found.setdefault((msgids[0], context), (msgids, set()))
        where.add(f"{filename}:{lineno}")
    assert len(found) > 100, "extraction found almost nothing: is babel.cfg right?"
    return found


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale)


@pytest.fixture(scope="module")
def vi() -> Catalog:
    return load(TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po", "vi")


@pytest.fixture(scope="module")
def en() -> Catalog:
    return load(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po", "en")


def entries(catalog: Catalog) -> Iterator[Message]:
    return (message for message in catalog if message.id)


def test_the_template_has_every_source_string(
    source: dict[Key, tuple[tuple[str, ...], set[str]]],
) -> None:
    template = load(TEMPLATE)
    missing = [
        f"{msgids[0]!r} ({located(where)})"
        for (msgid, context), (msgids, where) in sorted(source.items())
        if template.get(msgid, context) is None
    ]
    assert not missing, "not in messages.pot; run `make messages`:\n" + "\n".join(missing)


def test_every_source_string_has_a_vietnamese_translation(
    source: dict[Key, tuple[tuple[str, ...], set[str]]], vi: Catalog
) -> None:
    problems = []
    for (msgid, context), (msgids, where) in sorted(source.items()):
        message = vi.get(msgid, context)
        if message is None:
            problem = "missing"
        elif ids(message.id) != msgids:
            problem = "plural differs from the source"
        elif message.fuzzy:
            problem = "fuzzy"
        elif not all(ids(message.string)):
            problem = "untranslated"
        else:
            continue
        problems.append(f"{problem}: {msgid!r} ({located(where)})")
    assert not problems, (
        f"{len(problems)} of {len(source)} source strings lack a Vietnamese translation "
        "(make messages, then translate them in vi/LC_MESSAGES/messages.po):\n"
        + "\n".join(problems)
    )


def test_the_vietnamese_catalogue_is_complete_and_has_one_plural_form(vi: Catalog) -> None:
    assert str(vi.locale) == "vi"
    assert (vi.num_plurals, vi.plural_expr) == (1, "0")
    problems = [
        f"{'fuzzy' if message.fuzzy else 'untranslated'}: {ids(message.id)[0]!r}"
        for message in entries(vi)
        if message.fuzzy or not all(ids(message.string))
    ]
    problems += [
        f"more than one plural form: {ids(message.id)[0]!r}"
        for message in entries(vi)
        if len(ids(message.string)) != 1
    ]
    assert not problems, "\n".join(problems)


def test_the_english_catalogue_has_every_source_string(
    source: dict[Key, tuple[tuple[str, ...], set[str]]], en: Catalog
) -> None:
    """Empty translations are fine there (gettext shows the English msgid), gaps are not."""
    assert str(en.locale) == "en"
    assert en.num_plurals == 2
    missing = [
        f"{msgids[0]!r} ({located(where)})"
        for (msgid, context), (msgids, where) in sorted(source.items())
        if en.get(msgid, context) is None
    ]
    assert not missing, "not in the en catalogue; run `make messages`:\n" + "\n".join(missing)
    fuzzy = [ids(message.id)[0] for message in entries(en) if message.fuzzy]
    assert not fuzzy, f"fuzzy en entries are silently ignored by the compiler: {fuzzy}"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_translations_keep_the_placeholders(language: str, vi: Catalog, en: Catalog) -> None:
    catalog = {"vi": vi, "en": en}[language]
    problems = [
        f"{ids(message.id)[0]!r}: {error}"
        for message, errors in catalog.check()
        for error in errors
    ]
    for message in entries(catalog):
        # Named placeholders may be dropped by Babel's own check; here each one must stay
        # (a plural translation needs what both English forms use).
        expected = sorted(set().union(*(placeholders(text) for text in ids(message.id))))
        for text in ids(message.string):
            if text and sorted(set(placeholders(text))) != expected:
                found = sorted(set(placeholders(text)))
                problems.append(f"{ids(message.id)[0]!r}: placeholders {found} != {expected}")
    assert not problems, "\n".join(problems)


def test_vietnamese_uses_vietnamese_quotation_marks(vi: Catalog) -> None:
    straight = [text for message in entries(vi) for text in ids(message.string) if '"' in text]
    assert not straight, f"use “ ” instead of straight quotes: {straight}"


def compile_to(catalog: Catalog, directory: Path) -> Path:
    path = directory / str(catalog.locale) / "LC_MESSAGES" / "messages.mo"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as mo:
        write_mo(mo, catalog)
    return path


def compiled_messages(mo: bytes) -> dict[Key, tuple[str, ...]]:
    catalog = read_mo(io.BytesIO(mo))
    return {(ids(m.id)[0], m.context): ids(m.string) for m in entries(catalog)}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_compiled_catalogues_are_not_stale(
    language: str, vi: Catalog, en: Catalog, tmp_path: Path
) -> None:
    """The app reads the .mo files next to the .po (``make translations`` builds them)."""
    built = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
    if not built.exists():
        pytest.skip(f"{built.relative_to(ROOT)} is not built; run `make translations`")
    fresh = compile_to({"vi": vi, "en": en}[language], tmp_path).read_bytes()
    assert compiled_messages(built.read_bytes()) == compiled_messages(fresh), (
        f"{built.relative_to(ROOT)} is older than its .po; run `make translations`"
    )


@pytest.fixture
def client(
    vi: Catalog, en: Catalog, engine: Engine, session: Session, tmp_path: Path
) -> FlaskClient:
    """The submit app, reading catalogues compiled from the .po files just now."""
    compiled = tmp_path / "translations"
    for catalog in (vi, en):
        compile_to(catalog, compiled)
    build_world(session)
    settings = Settings.from_env(
        {
            **TEST_ENV,
            "MINHBACH_INSTANCE": str(tmp_path / "instance"),
            "MINHBACH_DATABASE_URL": str(engine.url),
        }
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    # Flask-Babel reads this list on each request's first gettext (app config is read once,
    # in create_app, so it cannot be used here).
    app.extensions["babel"].translation_directories = [str(compiled)]
    return app.test_client()


def page(client: FlaskClient, language: str, path: str) -> str:
    """The page at path, in language, chosen the way a reader chooses it."""
    assert client.get(f"/language/{language}?next={path}").status_code == 303
    response = client.get(path)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in text
    return text


def test_the_report_form_renders_in_vietnamese(client: FlaskClient) -> None:
    text = page(client, "vi", "/report")
    assert "<h1>Gửi tố cáo</h1>" in text  # _() in a template
    assert "Vợ hoặc chồng tôi" in text  # a lazy label (_l) from Python
    assert "Make a report" not in text
    assert "My husband or wife" not in text


@pytest.mark.parametrize("path", ["/", "/report", "/followup"])
def test_no_english_shows_through_on_a_vietnamese_page(
    client: FlaskClient, vi: Catalog, path: str
) -> None:
    text = html.unescape(page(client, "vi", path))
    english = [
        msgid
        for message in entries(vi)
        if len((msgid := ids(message.id)[0]).split()) >= 3 and msgid in text
    ]
    assert not english, f"shown in English on the Vietnamese page {path}: {english}"


def test_the_report_form_renders_in_english(client: FlaskClient) -> None:
    text = page(client, "en", "/report")
    assert "<h1>Make a report</h1>" in text
    assert "My husband or wife" in text
    assert "Gửi tố cáo" not in text
