"""The upload benchmark's server: the real submit app plus one baseline route.

``benchmarks.upload`` runs this under gunicorn as ``benchmarks._upload_server:create_bench_app()``,
with settings from the environment (``MINHBACH_*``) as in production. The route added here,
``POST /bench/plain``, is the baseline the encrypted API is compared with: it streams the
request body, in the same pieces as the upload service's append, either to a file in the
instance folder with the same fsync per piece as the filesystem store's append
(``?into=file``), or into the app's blob store as a blob (``?into=store``: in the database
store, its own writer), and does nothing else. It exists only in this benchmark's app,
never in ``create_app``, so the production app gains no route.
"""

from __future__ import annotations

import os
import secrets

from flask import Flask, Response, current_app, jsonify, request

from casework.settings import Settings
from store.fs import create_private_dirs
from submit import SETTINGS, create_app
from submit.api import blob_store
from submit.api.uploads import body_pieces

PLAIN_PATH = "/bench/plain"
PLAIN_DIR = "bench-plain"  # under the instance folder; the benchmark reads and removes it
# Production allows 600 appends per minute per upload: 1 MiB appends would be refused past
# 10 MiB/s, which loopback exceeds. The limiter still runs on every request (the cost is
# measured), only the amounts are raised, through the setting (MINHBACH_RATE_LIMIT_SCALE).
RATE_LIMIT_SCALE = 1000
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def create_bench_app() -> Flask:
    app = create_app()
    # Under the same CSRF protection and security headers as the API: the client sends
    # the same token and cookie, so both sides pay for the same request handling.
    app.add_url_rule(PLAIN_PATH, "bench_plain", plain_upload, methods=["POST"])
    return app


def plain_upload() -> Response:
    """Store the body as it arrives, read and cut into pieces as the upload service's append
    does (``body_pieces``): into a file or the blob store, no other database work."""
    if request.args.get("into") == "store":
        return _into_store()
    settings: Settings = current_app.extensions[SETTINGS]
    directory = create_private_dirs(settings.instance_path / PLAIN_DIR)
    name = secrets.token_hex(16)
    descriptor = os.open(directory / name, _CREATE, 0o600)
    size = 0
    try:
        for piece in body_pieces(request.stream):
            _write_all(descriptor, piece)
            os.fsync(descriptor)  # as FilesystemBlobStore.scratch_append, once per piece
            size += len(piece)
    finally:
        os.close(descriptor)
    return jsonify(name=name, size=size)


def _into_store() -> Response:
    store = blob_store()
    name, size = store.new_blob_id(), 0
    with store.open_writer(name) as writer:
        for piece in body_pieces(request.stream):
            writer.write(bytes(piece))
            size += len(piece)
    return jsonify(name=name, size=size)


def _write_all(descriptor: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
