"""Security headers on every response, and cookie settings.

The content security policy allows only this origin's own scripts, styles and images:
no inline script or style, no third party, no framing. Every response is ``no-store``:
a shared or seized computer must not keep a copy of a report page.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)

BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
    "X-Robots-Tag": "noindex, nofollow",
}


def init_security(
    app: Flask, *, cookie_name: str, https: bool, onion_location: str | None = None
) -> None:
    """Harden cookies and add the headers to every response of ``app``."""
    app.config.update(
        SESSION_COOKIE_NAME=cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=https,
        # Browser-session cookies only: nothing outlives closing the browser.
        SESSION_PERMANENT=False,
    )
    headers = dict(BASE_HEADERS)
    if https:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"

    @app.after_request
    def _add_headers(response: Response) -> Response:
        # Assigned, not defaulted: Flask's static files would otherwise keep their own
        # Cache-Control, and a cached copy on a seized computer shows the site was visited.
        for name, value in headers.items():
            response.headers[name] = value
        if onion_location and response.mimetype == "text/html":
            path = request.full_path.rstrip("?")
            response.headers["Onion-Location"] = onion_location.rstrip("/") + path
        response.headers.pop("Server", None)
        return response
