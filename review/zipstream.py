"""Writing a ZIP while it is sent: the exports' archives leave a piece at a time."""

from __future__ import annotations

import zipfile


class ZipSink:
    """A write-only, unseekable file for ``zipfile``: it keeps what was written until the
    stream takes it, so the archive leaves a piece at a time (zipfile then writes sizes
    after each member, in data descriptors)."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def write(self, data: bytes, /) -> int:
        self._pending += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self._pending)
        self._pending.clear()
        return data


def zip_member(name: str, size: int) -> zipfile.ZipInfo:
    # A fixed date: the archive says nothing about when files were made or cleaned.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size = size  # lets zipfile choose ZIP64 up front for a very large file
    info.external_attr = 0o600 << 16
    return info
