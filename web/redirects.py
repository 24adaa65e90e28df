"""Where a ``next`` parameter may send the browser: a path on this app, nothing else.

Both apps take a return address from the query or a form (the language switch, the
review app's sign-in). Browsers are lenient where a server's parser is strict: they drop
tabs and line breaks anywhere in a URL, read a backslash as a slash, and take anything
after a leading ``//`` as another host. So a check that only looks at the first
characters (``/\\t/evil.example`` passes it) is not enough, and a line break that passes
ends in a header Werkzeug refuses to send (a 500). ``local_path`` therefore refuses
anything that is not plainly a path of this app, before and after percent-decoding, and
answers ``"/"`` instead: it never raises, whatever it is given.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

HOME = "/"
# Percent-encoded slashes and backslashes: a path of this app never needs them, and a
# decoding proxy or browser could turn "/%2F/evil" into "//evil".
_ENCODED_SEPARATORS = ("%2f", "%5c")


def local_path(target: object) -> str:
    """``target`` if it is a path on this app, otherwise ``"/"``."""
    if not isinstance(target, str) or not _is_local(target):
        return HOME
    return target


def _is_local(target: str) -> bool:
    try:
        decoded = unquote(target, errors="strict")
    except UnicodeDecodeError:  # escapes that are not UTF-8 spell no path of this app
        return False
    # Decoded too: what a proxy or browser that decodes once more would see.
    return _plain_path(target) and _plain_path(decoded)


def _plain_path(text: str) -> bool:
    """An absolute path with nothing a browser could read as another origin."""
    if not text.startswith("/") or text.startswith("//"):
        return False
    if any(code in text.lower() for code in _ENCODED_SEPARATORS):
        return False
    if "\\" in text or any(_invisible(ch) for ch in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:  # urlsplit refuses some malformed input: then it is not a path
        return False
    path = parts.path
    # No scheme, no host, no user info: "@" never occurs in this app's paths, and a
    # lenient reader could take what precedes it for credentials.
    return not parts.scheme and not parts.netloc and "@" not in path and path.startswith("/")


def _invisible(ch: str) -> bool:
    """Whitespace (any script's) and control, format, private or unassigned characters:
    browsers drop some of them silently, so none may pass."""
    return ch.isspace() or unicodedata.category(ch)[0] in ("C", "Z")
