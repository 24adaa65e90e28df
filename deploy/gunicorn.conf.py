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


# The most gunicorn takes from the socket in one recv() for a request body. Its reader
# holds a few copies of each recv (its buffers, then the app's) while handing it over, so
# its default, 1 MiB, raised a worker's peak by 4-5 MiB per upload in flight; at 128 KiB
# nothing is measurable, and the apps read bodies 64 KiB at a time anyway
# (benchmarks/README.md, "upload.py").
MAX_BODY_RECV = 128 * 1024


def on_starting(server):
    """In the master, before it loads anything or starts a thread: what the workers it
    forks inherit. The allocator's limits hold only if set before any second thread
    allocates (glibc fixes its number of arenas then)."""
    _tune_allocator()
    _bound_body_reads()


def post_worker_init(worker):
    """Each worker, once its app is loaded and before it serves: no Server header."""
    _drop_server_header()


def _bound_body_reads():
    # A class attribute of gunicorn's socket reader, not a setting (gunicorn has none).
    from gunicorn.http.unreader import SocketUnreader

    if not hasattr(SocketUnreader, "max_body_chunk"):
        raise RuntimeError("gunicorn's SocketUnreader has no max_body_chunk: review MAX_BODY_RECV")
    SocketUnreader.max_body_chunk = MAX_BODY_RECV


# Blocks of this size or more are mapped for themselves and given back when freed.
MMAP_THRESHOLD = 256 * 1024
# One malloc arena for the whole process.
MALLOC_ARENAS = 1
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
_M_ARENA_MAX = -8


def _tune_allocator():
    # glibc raises its mmap threshold to the size of the largest mapped block freed (up to
    # 32 MiB), after which each thread's arena keeps the upload's 1 MiB pieces for reuse: a
    # few MiB the worker never gives back. A fixed threshold ends that. And each thread
    # that allocates gets an arena of its own, each keeping its own free memory, for
    # nothing: the threads take turns anyway (Python's lock), so one arena is enough.
    # Together: a worker's peak 3-5 MiB lower (benchmarks/README.md, "upload.py").
    # Debian's libc is glibc; elsewhere, nothing.
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS)


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
