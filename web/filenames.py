"""File names as pages show them: bidirectional controls made visible, the name isolated.

A file's name is the sender's own text (sealed by a browser, or typed into a file
chooser): "invoice\\u202efdp.exe" shows as "invoiceexe.pdf" because U+202E RIGHT-TO-LEFT
OVERRIDE reverses what follows it, and an unterminated override or embedding also runs
on into the words printed after the name. Pages therefore show each bidirectional
formatting character (UAX #9: the embeddings, overrides and isolates, and the implicit
marks) and each control character as a visible replacement mark, and put the name in a
``<bdi>`` so that its direction cannot leak into the sentence around it. The real name is
left to the download (Content-Disposition), never to what a person reads to decide.

``submit/static/js/followup/names.js`` is the same rule for the JavaScript follow-up page.
"""

from __future__ import annotations

from markupsafe import Markup

MARKER = "\ufffd"  # REPLACEMENT CHARACTER: visible, and of neutral direction itself
BIDI_CONTROLS = frozenset(
    "\u061c"  # ARABIC LETTER MARK
    "\u200e\u200f"  # LEFT-TO-RIGHT MARK, RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2066\u2067\u2068\u2069"  # LRI, RLI, FSI, PDI
)
_C0_C1 = frozenset(chr(code) for code in (*range(0x20), *range(0x7F, 0xA0)))
_NEUTRALISED = {ord(ch): MARKER for ch in BIDI_CONTROLS | _C0_C1}


def shown_name(name: str) -> str:
    """The name with every bidirectional control and control character replaced by
    ``MARKER``: what a page may print (autoescaped, and inside ``<bdi>``)."""
    return name.translate(_NEUTRALISED)


def isolated_name(name: str) -> Markup:
    """``shown_name`` in a ``<bdi>`` element, escaped: for a name inside a sentence."""
    return Markup("<bdi>{}</bdi>").format(shown_name(name))
