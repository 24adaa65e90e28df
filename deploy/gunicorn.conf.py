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
