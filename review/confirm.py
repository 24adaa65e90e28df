"""A page of its own for an action that cannot be taken back: what follows, and one button
that posts (with the anti-forgery token) to the view that does it. Opening the page
changes nothing; it works without JavaScript.

Actions with fields of their own (forwarding a case) or a page of their own already
(revoking access) have their own templates; the rest ask through ``ask``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import render_template


@dataclass(frozen=True)
class Question:
    title: str  # the page's title and heading, a question
    consequences: Sequence[str]  # what follows, one sentence each
    action: str  # the URL the button posts to
    button: str  # what the button says: the action itself
    back: str  # the URL of the page the person came from
    back_label: str
    form_id: str


def ask(question: Question) -> str:
    return render_template("confirm.html", question=question)
