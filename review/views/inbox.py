"""The inbox (``inbox.index``, GET ``/cases``): the cases this inspector can open.

A plain GET form narrows and sorts the list, so filters live in the URL (bookmarkable, no
JavaScript). The query itself is ``casework.inbox``: access by key wrap, deadlines
computed against the unit's today, keyset pages behind an opaque cursor. Nothing here
decrypts anything, so nothing here is audited: the list shows only what the database
holds in the clear (status, category, dates, flags).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from casework import inbox
from casework.dates import unit_today
from casework.intake import public_reference
from casework.recipients import CASE_READERS
from review import labels as review_labels
from review.auth import current_inspector, login_required
from web import labels
from web.database import db

blueprint = Blueprint("inbox", __name__)

CASE_VIEW = "cases.show"
_STATUS = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9-]{0,47}")
_DAYS = re.compile(r"[0-9]{1,3}")
FLAGS = ("overdue", "unread", "protection", "retaliation", "urgent")

# Statuses of the profile vn-denunciation-2018 (DOMAIN.md), as staff call them. A status
# of another profile is shown as itself.
SORT_LABELS: Mapping[inbox.Sort, LazyString] = {
    inbox.Sort.NEWEST: _l("Newest received first"),
    inbox.Sort.OLDEST: _l("Oldest received first"),
    inbox.Sort.DUE: _l("Next deadline first"),
}
ERRORS: Mapping[str, LazyString] = {
    "status": _l("Choose a status from the list."),
    "category": _l("Choose a category from the list."),
    "days": _l("Enter a number of days from 0 to 366."),
    "sort": _l("Choose an order from the list."),
    "after": _l(
        "This page link no longer works, for instance because the order changed. "
        "Start again from the first page."
    ),
}


@dataclass
class InboxForm:
    """The filter form as the inspector filled it in, with what was wrong with it."""

    status: str = ""
    category: str = ""
    sort: inbox.Sort = inbox.Sort.NEWEST
    flags: frozenset[str] = frozenset()
    due_soon: bool = False
    days: str = str(inbox.DEFAULT_DUE_SOON_DAYS)
    after: inbox.Cursor | None = None
    errors: dict[str, LazyString] = field(default_factory=dict)

    @classmethod
    def read(cls, args: MultiDict[str, str]) -> InboxForm:
        form = cls(
            status=args.get("status", "").strip(),
            category=args.get("category", "").strip(),
            flags=frozenset(flag for flag in FLAGS if args.get(flag) == "1"),
            due_soon=args.get("due_soon") == "1",
            days=args.get("days", "").strip() or str(inbox.DEFAULT_DUE_SOON_DAYS),
        )
        form._check(args)
        return form

    def _check(self, args: MultiDict[str, str]) -> None:
        if self.status and not _STATUS.fullmatch(self.status):
            self.errors["status"] = ERRORS["status"]
        if self.category and not _CATEGORY.fullmatch(self.category):
            self.errors["category"] = ERRORS["category"]
        if not _DAYS.fullmatch(self.days) or int(self.days) > inbox.MAX_DUE_SOON_DAYS:
            self.errors["days"] = ERRORS["days"]
        try:
            self.sort = inbox.Sort(args.get("sort") or inbox.Sort.NEWEST)
        except ValueError:
            self.errors["sort"] = ERRORS["sort"]
            return
        cursor = args.get("after", "")
        if cursor:
            try:
                self.after = inbox.Cursor.decode(cursor, self.sort)
            except inbox.InvalidCursor:
                self.errors["after"] = ERRORS["after"]

    @property
    def horizon(self) -> int:
        """Days ahead that count as "due soon", for the filter and the badges."""
        return int(self.days) if "days" not in self.errors else inbox.DEFAULT_DUE_SOON_DAYS

    def filters(self) -> inbox.Filters:
        return inbox.Filters(
            status=self.status or None,
            category=self.category or None,
            overdue="overdue" in self.flags,
            due_soon_days=self.horizon if self.due_soon else None,
            unread="unread" in self.flags,
            protection_requested="protection" in self.flags,
            retaliation_reported="retaliation" in self.flags,
            urgent="urgent" in self.flags,
        )

    def query_args(self) -> dict[str, Any]:
        """The form as URL parameters, for the links to other pages of the same list."""
        args: dict[str, Any] = {"status": self.status, "category": self.category}
        args["sort"] = self.sort.value
        args |= dict.fromkeys(sorted(self.flags), "1")
        if self.due_soon:
            args |= {"due_soon": "1", "days": self.days}
        return {name: value for name, value in args.items() if value}


@blueprint.get("/cases")
@login_required(*sorted(CASE_READERS))
def index() -> tuple[str, int]:
    form = InboxForm.read(request.args)
    inspector = current_inspector()
    page: inbox.InboxPage | None = None
    if not form.errors:
        page = inbox.fetch_page(
            db(),
            inspector.id,
            today=unit_today(),
            filters=form.filters(),
            sort=form.sort,
            after=form.after,
            due_soon_days=form.horizon,
        )
    return render_template("inbox.html", **_context(form, page, inspector.unit.categories)), (
        400 if form.errors else 200
    )


def _context(
    form: InboxForm, page: inbox.InboxPage | None, unit_categories: list[str]
) -> dict[str, Any]:
    next_url = None
    if page is not None and page.next_cursor is not None:
        next_url = url_for("inbox.index", **form.query_args(), after=page.next_cursor.encode())
    return {
        "form": form,
        "rows": page.rows if page is not None else (),
        "next_url": next_url,
        "first_url": url_for("inbox.index", **form.query_args()),
        "statuses": _options(review_labels.STATUS_LABELS, form.status),
        "categories": _options(
            {slug: labels.CATEGORIES.get(slug, slug) for slug in unit_categories}, form.category
        ),
        "sorts": SORT_LABELS,
        "status_label": review_labels.status_label,
        "category_label": lambda slug: labels.CATEGORIES.get(slug, slug),
        "track_labels": review_labels.TRACK_LABELS,
        "reference": public_reference,
        "case_links": CASE_VIEW in current_app.view_functions,
    }


def _options(labels: Mapping[str, LazyString | str], chosen: str) -> list[tuple[str, Any]]:
    """The choices of a select; a chosen value not in the list stays, shown as itself, so
    a link from elsewhere does not silently lose its filter."""
    options: list[tuple[str, Any]] = list(labels.items())
    if chosen and chosen not in labels:
        options.append((chosen, chosen))
    return options
