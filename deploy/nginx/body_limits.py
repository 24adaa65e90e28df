"""Print the body limits of deploy/nginx/ for this installation's settings.

The files are written for the default settings (1 GiB per file, 1 GiB per report). After
changing MINHBACH_MAX_FILE_SIZE or MINHBACH_MAX_REPORT_SIZE, run this with the app's
Python and the same two settings the public app has, and copy each number into
snippets/minhbach-submit-routes.conf (and reload nginx):

    MINHBACH_MAX_FILE_SIZE=... MINHBACH_MAX_REPORT_SIZE=... \
        /path/to/minhbach/.venv/bin/python deploy/nginx/body_limits.py

Each limit is the app's own for that route, so that the app, not nginx, refuses a body
that is too large (with its own page, which keeps what the tipster typed).
"""

from __future__ import annotations

import review
from casework.settings import Settings
from casework.uploads import ciphertext_limit
from submit import max_body
from submit.api.reports import MAX_REPORT_JSON_BYTES
from submit.views import followup, report


def submit_limits(settings: Settings) -> dict[str, int]:
    """Location of minhbach-submit-routes.conf (as written there) -> bytes."""
    return {
        "/": max_body(settings),
        "= /report": settings.max_report_size + report.TEXT_ALLOWANCE,
        "= /followup/reply": settings.max_report_size + followup.TEXT_ALLOWANCE,
        "^~ /api/v1/uploads/": ciphertext_limit(settings.max_file_size),
        "= /api/v1/uploads": MAX_REPORT_JSON_BYTES,
        "^~ /api/v1/": MAX_REPORT_JSON_BYTES,
    }


def main() -> None:
    print("# snippets/minhbach-submit-routes.conf")
    for location, size in submit_limits(Settings.from_env()).items():
        print(f"location {location} {{ client_max_body_size {size}; }}")
    print("# review.conf (no setting changes it)")
    print(f"client_max_body_size {review.MAX_BODY};")


if __name__ == "__main__":
    main()
