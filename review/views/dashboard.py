"""The supervisors' progress dashboard (the fortnightly review): charts and exports of
aggregate figures.

``dashboard.index`` GET ``/dashboard``: every figure of ``casework.dashboard`` as a
server-rendered SVG chart (``<img>`` of GET ``/dashboard/charts/<name>.svg``), each
followed by a data table of the same figures for screen readers and for anyone whose
browser shows no images. No JavaScript anywhere: pygal's tooltip script is left out and
every ``<script>`` element is removed from the SVG before it is sent.

``dashboard.export_csv`` GET ``/dashboard/figures.csv`` and ``dashboard.export_pdf``
GET ``/dashboard/figures.pdf``: the same figures as a download, audited as
``dashboard_export``. Charts, tables and exports are all built from one list of
``Table``s, so they cannot disagree, and none of them holds more than counts and labels:
no case id, reference, date of a single case or name of a person.

Open to the head of the unit (supervisor) and the identity custodian; inspectors and
administrators get 403. Nothing here decrypts anything.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pygal  # type: ignore[import-untyped]
from babel.dates import format_skeleton
from flask import Blueprint, Response, current_app, render_template
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf import FPDF
from fpdf.fonts import FontFace
from pygal.etree import etree as pygal_etree  # type: ignore[import-untyped]
from pygal.style import Style  # type: ignore[import-untyped]

from casework import dashboard
from casework.dates import unit_today
from review import labels as review_labels
from review.auth import audit, current_inspector, login_required
from store.models import InspectorRole
from web import labels as shared_labels
from web.database import db
from web.dates import shown_day
from web.errors import PublicError

blueprint = Blueprint("dashboard", __name__)

# pygal builds its tree with lxml when lxml happens to be installed; the standard library's
# ElementTree always, so that ``_without_scripts`` knows what it walks and serialises.
pygal_etree.to_etree()

# The head of the unit runs the review; the custodian is the head in units that say so.
READERS = (InspectorRole.CUSTODIAN, InspectorRole.SUPERVISOR)
DUE_SOON_DAYS = dashboard.DEFAULT_DUE_SOON_DAYS
EXPORTED = "dashboard_export"
FIGURES_TTL_SECONDS = 60.0  # how long the page's counts serve its charts
_STORE_LOCK = threading.Lock()

CHART_WIDTH = 800
BAR_HEIGHT = 34  # pixels a row of a horizontal bar chart
CHART_MIN_HEIGHT = 260
MAX_TICKS = 5
SVG_NS = "http://www.w3.org/2000/svg"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FAMILY = "DejaVu"
# Vietnamese needs a Unicode font in the PDF; charts name it and fall back to sans-serif.
CHART_STYLE = Style(
    font_family="'DejaVu Sans', 'Noto Sans', Arial, sans-serif",
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#6b6b6b",
    colors=("#1f5f8b", "#c75c1a", "#3c7d3c", "#7b4b94"),
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=13,
    title_font_size=16,
    no_data_font_size=20,
    legend_font_size=13,
)


@dataclass(frozen=True)
class Row:
    code: str  # the stored value, for the CSV
    label: str  # what people read
    counts: tuple[int, ...]  # one a column


@dataclass(frozen=True)
class Table:
    """One block of figures: a chart, a data table, a section of each export."""

    name: str  # stable: chart URL, CSV section, HTML id
    title: str
    heading: str  # what the rows are: the header of the label column
    columns: tuple[tuple[str, str], ...]  # (code, label) of each count column
    rows: tuple[Row, ...]
    horizontal: bool = True  # bars across (categories) or upright (months)
    chart: bool = True


CHART_NAMES = (
    "status",
    "track",
    "category",
    "deadlines",
    "months",
    "protection",
    "protection_category",
    "retaliation",
    "retaliation_months",
)


# --- views --------------------------------------------------------------------------------


@blueprint.get("/dashboard")
@login_required(*READERS)
def index() -> str:
    found = _figures(fresh=True)
    return render_template(
        "dashboard.html",
        figures=found,
        tables=tables(found),
        unit=current_inspector().unit,
        chart_width=CHART_WIDTH,
        chart_height=_chart_height,
    )


@blueprint.get("/dashboard/charts/<name>.svg")
@login_required(*READERS)
def chart(name: str) -> Response:
    if name not in CHART_NAMES:
        raise PublicError(404, "not_found", _("There is no such chart."))
    table = next(table for table in tables(_figures(fresh=False)) if table.name == name)
    return Response(render_svg(table), mimetype="image/svg+xml")


@blueprint.get("/dashboard/figures.csv")
@login_required(*READERS)
def export_csv() -> Response:
    found = _figures(fresh=True)
    body = render_csv(found, tables(found)).encode("utf-8-sig")  # BOM: spreadsheets read UTF-8
    return _download(body, "text/csv; charset=utf-8", found.as_of, "csv")


@blueprint.get("/dashboard/figures.pdf")
@login_required(*READERS)
def export_pdf() -> Response:
    found = _figures(fresh=True)
    body = render_pdf(found, tables(found), current_inspector().unit.name)
    return _download(body, "application/pdf", found.as_of, "pdf")


def _figures(*, fresh: bool) -> dashboard.Figures:
    """The unit's figures: counted anew (``fresh``), or those the page was drawn from
    if they are less than ``FIGURES_TTL_SECONDS`` old.

    The page counts; its charts, requested right after it, reuse those counts. So one
    page view costs one ``figures`` call instead of one per chart, and every chart shows
    exactly the numbers of the tables beside it. Only counts are kept, in this process's
    memory, per unit and day.
    """
    key = (current_inspector().unit_id, unit_today())
    store: dict[tuple[int, date], tuple[float, dashboard.Figures]]
    store = current_app.extensions.setdefault("dashboard_figures", {})
    now = time.monotonic()
    if not fresh:
        with _STORE_LOCK:
            kept = store.get(key)
        if kept is not None and now - kept[0] < FIGURES_TTL_SECONDS:
            return kept[1]
    found = dashboard.figures(db(), key[0], key[1], due_soon_days=DUE_SOON_DAYS)
    with _STORE_LOCK:
        for old in [k for k, (at, _) in store.items() if now - at >= FIGURES_TTL_SECONDS]:
            del store[old]
        store[key] = (now, found)
    return found


def _download(body: bytes, mimetype: str, as_of: date, extension: str) -> Response:
    audit(EXPORTED, details={"format": extension})
    db().commit()  # audited before a byte leaves
    response = Response(body, mimetype=mimetype)
    name = f"dashboard-{as_of.isoformat()}.{extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the figures as tables ------------------------------------------------------------------

CASES = ("cases", _l("Number of cases"))
RECORDS = ("records", _l("Protection records"))
INCIDENTS = ("incidents", _l("Incidents"))


def tables(found: dashboard.Figures) -> list[Table]:
    """Every block of the dashboard, in the order the page shows them."""
    return [
        _summary(found),
        _counts(
            ("status", _("Cases by status"), _("Status")),
            found.by_status,
            review_labels.STATUS_LABELS,
            CASES,
        ),
        _counts(
            ("track", _("Cases by kind of report"), _("Kind of report")),
            found.by_track,
            review_labels.TRACK_LABELS,
            CASES,
        ),
        _counts(
            ("category", _("Cases by category"), _("Category")),
            found.by_category,
            shared_labels.CATEGORIES,
            CASES,
        ),
        Table(
            "deadlines",
            _("Deadlines of open cases"),
            _("Deadline"),
            _columns(CASES),
            (
                Row("overdue", _("Overdue"), (found.overdue,)),
                Row(
                    "due_soon",
                    _("Due within %(days)d days", days=found.due_soon_days),
                    (found.due_soon,),
                ),
            ),
        ),
        Table(
            "months",
            _("Cases received and closed per month"),
            _("Month"),
            _columns(("received", _l("Cases received")), ("closed", _l("Cases closed"))),
            tuple(
                Row(m.start.strftime("%Y-%m"), _month(m.start), (m.received, m.closed))
                for m in found.months
            ),
            horizontal=False,
        ),
        _counts(
            ("protection", _("Protection records by state"), _("State")),
            found.protection_by_state,
            review_labels.PROTECTION_STATES,
            RECORDS,
        ),
        _counts(
            ("protection_category", _("Protection records by kind of protection"), _("Kind")),
            found.protection_by_category,
            shared_labels.PROTECTION_KINDS,
            RECORDS,
        ),
        _counts(
            ("retaliation", _("Retaliation incidents by kind"), _("Kind")),
            found.retaliation_by_kind,
            shared_labels.RETALIATION_KINDS,
            INCIDENTS,
        ),
        Table(
            "retaliation_months",
            _("Retaliation incidents reported per month"),
            _("Month"),
            _columns(INCIDENTS),
            tuple(
                Row(m.start.strftime("%Y-%m"), _month(m.start), (m.retaliation,))
                for m in found.months
            ),
            horizontal=False,
        ),
    ]


def _summary(found: dashboard.Figures) -> Table:
    figures = (
        ("total", _("Cases received, all time"), found.total),
        ("open", _("Open cases"), found.open_cases),
        ("forwarded_out", _("Forwarded to other bodies, all time"), found.forwarded_out),
        ("overdue", _("Overdue"), found.overdue),
        ("due_soon", _("Due within %(days)d days", days=found.due_soon_days), found.due_soon),
        ("active_measures", _("Protections with measures in force"), found.active_measures),
        (
            "urgent_pending",
            _("Urgent protection requests awaiting a decision"),
            found.urgent_pending,
        ),
        ("retaliation", _("Retaliation incidents, all time"), found.retaliation_total),
    )
    return Table(
        "summary",
        _("Key figures"),
        _("Figure"),
        (("count", str(_("Number"))),),
        tuple(Row(code, label, (count,)) for code, label, count in figures),
        chart=False,
    )


def _counts(
    names: tuple[str, str, str],
    counts: dashboard.Counts,
    labels: Mapping[Any, LazyString],
    column: tuple[str, LazyString],
) -> Table:
    """Known values in the label table's order (a status table follows the workflow),
    then values no table knows, shown as themselves."""
    found = dict(counts)
    known = [str(getattr(value, "value", value)) for value in labels]
    order = [code for code in known if code in found]
    order += [code for code in sorted(found) if code not in known]
    text = {str(getattr(value, "value", value)): str(label) for value, label in labels.items()}
    rows = tuple(Row(code, text.get(code, code), (found[code],)) for code in order)
    name, title, heading = names
    return Table(name, title, heading, _columns(column), rows)


def _columns(*columns: tuple[str, LazyString]) -> tuple[tuple[str, str], ...]:
    return tuple((code, str(label)) for code, label in columns)


def _month(start: date) -> str:
    return str(format_skeleton("yMMM", start, locale=get_locale()))


def _chart_height(table: Table) -> int:
    if table.horizontal:
        return max(CHART_MIN_HEIGHT, 110 + BAR_HEIGHT * len(table.rows))
    return 360


# --- charts ---------------------------------------------------------------------------------


def render_svg(table: Table) -> bytes:
    """A chart of ``table`` as a standalone SVG with no script and no outside reference."""
    kind = pygal.HorizontalBar if table.horizontal else pygal.Bar
    config = pygal.Config(
        js=[],  # no tooltip script from a CDN
        explicit_size=True,  # width and height: the image has a natural size
        width=CHART_WIDTH,
        height=_chart_height(table),
        title=table.title,
        show_legend=len(table.columns) > 1,
        legend_at_bottom=True,
        print_values=table.horizontal,
        print_zeroes=False,
        x_label_rotation=0 if table.horizontal else -30,
        truncate_label=-1,  # never cut a label to "…"
        no_data_text=_("No figures yet"),
        show_y_guides=not table.horizontal,
        show_x_guides=table.horizontal,
        style=CHART_STYLE,
    )
    largest = max((count for row in table.rows for count in row.counts), default=0)
    if largest:  # pygal fails on axis labels without data; it then says "no figures"
        config.y_labels = _ticks(largest)
    chart = kind(config)
    rows = list(reversed(table.rows)) if table.horizontal else list(table.rows)  # top down
    chart.x_labels = [row.label for row in rows]
    if largest:
        for index, (_code, label) in enumerate(table.columns):
            chart.add(label, [row.counts[index] for row in rows])
    return _without_scripts(chart.render_tree())


def _ticks(largest: int) -> list[int]:
    """Whole numbers on the count axis, about five of them: there is no half a case."""
    step = max(1, -(-largest // MAX_TICKS))
    return list(range(0, largest + step, step))


def _without_scripts(root: ElementTree.Element) -> bytes:
    """pygal always writes its config as an inline ``<script>``: take out every one."""
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG_NS}}}script", "script"):
                parent.remove(child)
    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return bytes(ElementTree.tostring(root, encoding="utf-8", xml_declaration=True))


# --- exports --------------------------------------------------------------------------------

CSV_HEADER = ("as_of", "section", "item", "label", "measure", "count")
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render_csv(found: dashboard.Figures, blocks: Iterable[Table]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for table in blocks:
        for row in table.rows:
            for (measure, _label), count in zip(table.columns, row.counts, strict=True):
                cells = (found.as_of.isoformat(), table.name, row.code, row.label, measure, count)
                writer.writerow([_cell(value) for value in cells])
    return out.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def render_pdf(
    found: dashboard.Figures, blocks: Sequence[Table], unit_name: str, *, compress: bool = True
) -> bytes:
    """A printable report of the figures: the tables, no charts (a table prints clearly
    in black and white and reads the same on paper as on screen)."""
    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    _add_fonts(pdf)
    pdf.set_title(str(_("Progress dashboard")))
    pdf.set_creator("minhbach")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT_FAMILY, "B", 16)
    pdf.multi_cell(0, 9, str(_("Progress dashboard")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 11)
    as_of = shown_day(found.as_of)
    lines = (unit_name, str(_("Figures as of %(date)s", date=as_of)), _pdf_note())
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    for table in blocks:
        _pdf_table(pdf, table)
    return bytes(pdf.output())


def _pdf_note() -> str:
    return str(
        _("Aggregate counts only: no case, reference or person can be identified from them.")
    )


def _add_fonts(pdf: FPDF) -> None:
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        raise PublicError(
            503, "font_missing", _("The PDF export needs the DejaVu fonts on the server.")
        )
    pdf.add_font(FONT_FAMILY, "", str(regular))
    pdf.add_font(FONT_FAMILY, "B", str(bold))


def _pdf_table(pdf: FPDF, table: Table) -> None:
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, "B", 12)
    pdf.multi_cell(0, 7, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 10)
    label_width = 120 if len(table.columns) == 1 else 90
    widths = (label_width, *([25] * len(table.columns)))
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align="LEFT",
        text_align=("LEFT", *(["RIGHT"] * len(table.columns))),
        headings_style=FontFace(emphasis="BOLD"),
        first_row_as_headings=True,
    ) as grid:
        grid.row([table.heading, *(label for _code, label in table.columns)])
        for row in table.rows:
            grid.row([row.label, *(str(count) for count in row.counts)])
        if not table.rows:
            grid.row([str(_("None yet.")), *([""] * len(table.columns))])
