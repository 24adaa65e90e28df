"""The home page tells a tipster how to check that the site is the unit's own (issue 15,
point 12): against the address the unit publishes elsewhere, and with an onion address in
Tor Browser, which Tor authenticates; and it says that what a page claims proves nothing."""

from __future__ import annotations

import html

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from tests.worlds import World

ADVICE = (
    "Before you write anything, compare the address in your browser's address bar, letter by"
    " letter, with the address %(unit)s publishes on its official website, its notice board"
    " or its letters. A copy of this site at another address can look exactly the same: what"
    " a page says about itself proves nothing, including this paragraph."
)
ONION = (
    "In Tor Browser, use the unit's onion address (ending in .onion) from the same official"
    " source: Tor checks that the site answering is the one that address names."
)


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_home_page_says_how_to_check_the_sites_address(
    app: Flask, client: FlaskClient, world: World, language: str
) -> None:
    client.get(f"/language/{language}?next=/")
    page = html.unescape(client.get("/").get_data(as_text=True))
    with app.test_request_context(), force_locale(language):
        advice = gettext(ADVICE, unit=world.unit.name)
        onion = gettext(ONION)
    assert 'id="real-site"' in page
    assert advice in page
    assert onion in page
    if language == "vi":
        assert advice != ADVICE.replace("%(unit)s", world.unit.name)  # translated
