"""The review app's persistent navigation: the places the signed-in role may open, drawn
by base.html on every page, with the one the page belongs to marked.

Each place lists the roles its views let in (``login_required`` in review/views), so the
navigation never offers a page that answers 403. A page that is not itself a place but
belongs to one (a case's pages to the cases, the person's audit trail to the audit log)
marks its place with ``aria-current="true"``; the place's own page with ``"page"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from review.auth import signed_in_info
from store.models import InspectorRole

INSPECTOR = InspectorRole.INSPECTOR
CUSTODIAN = InspectorRole.CUSTODIAN
SUPERVISOR = InspectorRole.SUPERVISOR
ADMIN = InspectorRole.ADMIN

# The blueprints whose every page is about one case: the way back from them is the cases.
CASE_BLUEPRINTS = frozenset({"cases", "workflow", "protection", "publication", "archive"})
CASE_ENDPOINTS = frozenset({"custody.identity", "custody.export"})
OVERSIGHT = frozenset({CUSTODIAN, SUPERVISOR})


@dataclass(frozen=True)
class Place:
    endpoint: str
    label: LazyString
    roles: frozenset[InspectorRole]
    # Other endpoints, or whole blueprints ("name."), whose pages belong to this place.
    within: frozenset[str] = frozenset()

    def holds(self, endpoint: str) -> bool:
        blueprint = endpoint.split(".", 1)[0] + "."
        return endpoint in self.within or blueprint in self.within


PLACES: tuple[Place, ...] = (
    Place(
        "inbox.index",
        _l("Cases"),
        frozenset({INSPECTOR, CUSTODIAN}),
        frozenset({*(name + "." for name in CASE_BLUEPRINTS), *CASE_ENDPOINTS}),
    ),
    Place(
        "registration.form",
        _l("Register a report"),
        frozenset({INSPECTOR, CUSTODIAN}),
        frozenset({"registration."}),  # the receipt, a refused form
    ),
    Place(
        "escalations.index",
        _l("Escalations"),
        frozenset({INSPECTOR, CUSTODIAN, SUPERVISOR}),
        frozenset({"escalations."}),  # a demand's question, a refused report
    ),
    Place(
        "workflow.forwarded", _l("Forwarded cases"), frozenset({INSPECTOR, CUSTODIAN, SUPERVISOR})
    ),
    Place("dashboard.index", _l("Dashboard"), OVERSIGHT),
    Place("audit.index", _l("Audit log"), OVERSIGHT, frozenset({"audit."})),
    Place("custody.openings", _l("Identity openings"), OVERSIGHT),
    Place("admin.people", _l("People"), frozenset({ADMIN}), frozenset({"admin."})),
    Place("reception.form", _l("Reception schedule"), frozenset({ADMIN})),
    Place("home.index", _l("Your account"), frozenset(InspectorRole), frozenset({"account."})),
)


@dataclass(frozen=True)
class Link:
    url: str
    label: LazyString
    current: str | None  # the value of aria-current, or None


def places_for(role: InspectorRole) -> list[Place]:
    return [place for place in PLACES if role in place.roles]


def current_place(places: list[Place], endpoint: str | None) -> tuple[Place | None, str | None]:
    """The one place to mark and how: its own page ("page"), or a page within it ("true").
    A place's own page wins over a blueprint that holds it (the forwarded cases are a
    workflow page, not a case's)."""
    if endpoint is None:
        return None, None
    for place in places:
        if place.endpoint == endpoint:
            return place, "page"
    for place in places:
        if place.holds(endpoint):
            return place, "true"
    return None, None


def links() -> list[Link]:
    """The signed-in person's places, for this request; none before sign-in."""
    info = signed_in_info()
    if info is None:
        return []
    places = places_for(info.inspector.role)
    marked, value = current_place(places, request.endpoint)
    return [
        Link(url_for(place.endpoint), place.label, value if place is marked else None)
        for place in places
    ]


def init_navigation(app: Flask) -> None:
    def context() -> dict[str, Callable[[], list[Link]]]:
        return {"navigation": links}

    app.context_processor(context)
