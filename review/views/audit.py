"""The audit trail for supervisors and custodians (blueprint ``audit``).

Who opened, changed or tried what: the trail of one case, and of one person (what they
did, and what was done to their account). Newest first, a page at a time with a keyset
on the chain's own numbering. Every page starts with the result of checking the whole
hash chain (``casework.audit.verify``), so a reader never takes an edited log at face
value.

Each unit sees its own entries only: those whose actor is a person of the reader's unit
(and, for a case the unit holds now, those of no person: the system, the command line).
A forwarded case is followed by both units, and neither reads the other's staff names,
identity-opening reasons or anything else the other unit did with it
(``unit_entries``). Only cases the unit holds or forwarded, and people of the unit, are
looked up at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, or_, select

from casework import audit as audit_log
from casework.intake import public_reference
from review.audit_labels import Reader, Reading
from review.auth import current_inspector, login_required
from review.labels import ROLE_LABELS
from store.models import AuditEntry, Case, CaseTransfer, Inspector, InspectorRole, Unit
from store.types import MAX_ID
from web.database import db, reading_session

blueprint = Blueprint("audit", __name__, url_prefix="/audit")

READERS = (InspectorRole.SUPERVISOR, InspectorRole.CUSTODIAN)
PAGE_SIZE = 50
MAX_CASE_ID = 36
REFERENCE = re.compile(r"MB-([0-9A-F]{8})", re.IGNORECASE)  # casework.intake.public_reference
NO_SUCH_CASE = _l(
    "There is no case of your unit with this reference. Check it: it is written like "
    "MB-1B4E28BA, or is the 36-character identifier, like "
    "1b4e28ba-2fa1-11d2-883f-0016d3cca427."
)


@dataclass(frozen=True)
class Page:
    entries: list[Reading]
    older: int | None  # the ``before`` of the next page, None on the last


def verify_chain() -> audit_log.VerifyResult:
    """Walk the chain in a session of its own, as ``verify`` asks."""
    with reading_session() as session:
        return audit_log.verify(session)


def page_of(condition: ColumnElement[bool]) -> Page:
    before = request.args.get("before", type=int)
    query = select(AuditEntry).where(condition)
    if before is not None:  # past any entry there can be: the first page
        query = query.where(AuditEntry.seq < min(before, MAX_ID))
    rows = list(db().scalars(query.order_by(AuditEntry.seq.desc()).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    entries = rows[:PAGE_SIZE]
    reader = _reader()
    return Page([reader.read(entry) for entry in entries], entries[-1].seq if more else None)


def _reader() -> Reader:
    """Names for the reader's unit: its own people (no other unit's entries are shown,
    ``unit_entries``) and every unit, which a forward names."""
    unit_id = current_inspector().unit_id
    people = db().scalars(select(Inspector).where(Inspector.unit_id == unit_id))
    return Reader(people, db().scalars(select(Unit)))


def _render(template: str, page: Page, **context: object) -> str:
    return render_template(template, page=page, chain=verify_chain(), **context)


def unit_people(unit_id: int) -> Select[int]:
    """The ids of the unit's people, for ``AuditEntry.actor_id.in_(...)``."""
    return select(Inspector.id).where(Inspector.unit_id == unit_id)


def unit_entries(unit_id: int, *, holds_case: bool = False) -> ColumnElement[bool]:
    """Entries the unit may read: its own people's, and, where the unit holds the case
    in question now, those no person made (a purge by the system, a command)."""
    own = AuditEntry.actor_id.in_(unit_people(unit_id))
    return or_(own, AuditEntry.actor_id.is_(None)) if holds_case else own


def _case_id(typed: str) -> str:
    """The case id for what was typed: the id itself, or the reference shown on the case
    (MB- and the id's first 8 characters), if exactly one case of the unit has it."""
    found = REFERENCE.fullmatch(typed)
    if found is None:
        return typed.lower()
    prefixed = _unit_cases().where(Case.public_id.startswith(found[1].lower()))
    ids = list(db().scalars(prefixed.limit(2)))
    return ids[0] if len(ids) == 1 else ""


def _unit_cases() -> Select[str]:
    """The ids of the cases the reader's unit holds or forwarded."""
    unit_id = current_inspector().unit_id
    forwarded = select(CaseTransfer.case_id).where(CaseTransfer.from_unit_id == unit_id)
    return select(Case.public_id).where(or_(Case.unit_id == unit_id, Case.id.in_(forwarded)))


def _unit_case(public_id: str) -> Case | None:
    """The case if the reader's unit holds it, or forwarded it: the sending unit still
    answers for what its people did with the case before it left."""
    if not public_id or len(public_id) > MAX_CASE_ID or "\x00" in public_id:
        return None  # PostgreSQL refuses a NUL in text: no such case, not a server error
    mine = Case.public_id.in_(_unit_cases())
    return db().scalar(select(Case).where(mine, Case.public_id == public_id))


def _index_page(
    case_value: str = "", error: LazyString | None = None, status: int = 200
) -> tuple[str, int]:
    unit = current_inspector().unit
    people = db().scalars(
        select(Inspector).where(Inspector.unit_id == unit.id).order_by(Inspector.username)
    )
    page = render_template(
        "audit_index.html",
        people=list(people),
        roles=ROLE_LABELS,
        chain=verify_chain(),
        case_value=case_value,
        case_error=error,
    )
    return page, status


@blueprint.get("/")
@login_required(*READERS)
def index() -> ResponseReturnValue:
    return _index_page()


@blueprint.get("/case")
@login_required(*READERS)
def find_case() -> ResponseReturnValue:
    """The index page's form (GET, no JavaScript): a case reference to its trail."""
    typed = request.args.get("case", "").strip()[:200]
    found = _unit_case(_case_id(typed))
    if found is None:
        return _index_page(typed, NO_SUCH_CASE, 404)
    return redirect(url_for("audit.case", public_id=found.public_id), code=303)


@blueprint.get("/case/<public_id>")
@login_required(*READERS)
def case(public_id: str) -> ResponseReturnValue:
    found = _unit_case(public_id)
    if found is None:
        abort(404)
    unit_id = current_inspector().unit_id
    condition = (AuditEntry.case_public_id == found.public_id) & unit_entries(
        unit_id, holds_case=found.unit_id == unit_id
    )
    return _render(
        "audit_case.html", page_of(condition), reference=public_reference(found.public_id)
    )


@blueprint.get("/person/<int:inspector_id>")
@login_required(*READERS)
def person(inspector_id: int) -> ResponseReturnValue:
    subject = db().get(Inspector, inspector_id)
    if subject is None or subject.unit_id != current_inspector().unit_id:
        abort(404)
    # What was done to the account: by the unit's people or by no person (a command),
    # never by another unit's people (a receiving unit revoking a sender's access).
    done_to = (AuditEntry.target == subject.username) & or_(
        AuditEntry.actor_id.in_(unit_people(subject.unit_id)), AuditEntry.actor_id.is_(None)
    )
    condition = or_(AuditEntry.actor_id == subject.id, done_to)
    return _render(
        "audit_person.html", page_of(condition), subject=subject, role=ROLE_LABELS[subject.role]
    )
