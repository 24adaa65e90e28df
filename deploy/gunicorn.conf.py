"""gunicorn settings for both apps (``gunicorn -c deploy/gunicorn.conf.py``).

Start one gunicorn per app, each with its own port and, in production, its own database
role: ``gunicorn -c deploy/gunicorn.conf.py -b 127.0.0.1:5000 'submit:create_app()'``.
What matters here is what is NOT written down: no access log (it would record client
addresses, user agents and upload ids), and errors only at warning level.
"""

import os

accesslog = None  # never log requests: the public side must not record who came when
errorlog = "-"
loglevel = "warning"
# Uploads of large encrypted files over Tor can take long; a worker must not be killed
# mid-stream.
timeout = int(os.environ.get("MINHBACH_GUNICORN_TIMEOUT", "600"))
graceful_timeout = 30
workers = int(os.environ.get("MINHBACH_GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("MINHBACH_GUNICORN_THREADS", "4"))
# Header limits well below gunicorn's defaults: nothing legitimate needs more.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# No proxy headers are trusted: the apps never use the client address anyway.
forwarded_allow_ips = ""
# Two gunicorns (submit and review) would otherwise claim the same control socket path.
control_socket_disable = True
# HTTP/1.1 only: gunicorn's default, written down because post_worker_init below relies on
# it (gunicorn's HTTP/2 responses add a Server header of their own, by another path).
http_protocols = "h1"


def post_worker_init(worker):
    """Each worker, once its app is loaded and before it serves: no Server header."""
    _drop_server_header()


def _drop_server_header():
    # gunicorn writes "Server: gunicorn" itself, below the apps (which remove theirs in
    # web.security), and has no setting to leave it out (benoitc/gunicorn#825, #1617). It
    # names the software to anyone scanning for a known flaw, so the HTTP/1 response's
    # default headers are filtered here: the one place every response's head is made.
    from gunicorn.http import wsgi

    default_headers = wsgi.Response.default_headers
    if getattr(default_headers, "drops_server", False):
        return

    def without_server(response):
        lines = default_headers(response)
        return [line for line in lines if not line.lower().startswith("server:")]

    without_server.drops_server = True
    wsgi.Response.default_headers = without_server
