"""Cleaning files with mat2 in a RAM-only scratch directory (casework.metadata).

The samples carry canary metadata (a GPS position and an artist in a JPEG, an author in
a PDF) made with Pillow and fpdf2; the checks read the cleaned files back with Pillow or
as bytes. ``jpeg_with_gps`` and ``pdf_with_author`` are used by the review app's tests.
"""

from __future__ import annotations

import io
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from casework import metadata
from casework.metadata import LeftOut, MetadataError, Scratch

ARTIST = "Canary-Artist Nguyen Van A"  # EXIF text is ASCII
AUTHOR = "Canary-Author Tran Thi B"
GPS_IFD = 0x8825
ARTIST_TAG = 0x013B
UNKNOWN_BINARY = b"\x00\x9fMBX-unknown-format\x01\x02" * 40


def jpeg_with_gps() -> bytes:
    """A small photo with a GPS position (Hà Nội) and an artist in its EXIF."""
    image = Image.new("RGB", (48, 32), (200, 30, 30))
    exif = Image.Exif()
    exif[ARTIST_TAG] = ARTIST
    exif[GPS_IFD] = {1: "N", 2: (21.0, 1.0, 42.0), 3: "E", 4: (105.0, 51.0, 15.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    data = out.getvalue()
    assert _exif_of(data)[ARTIST_TAG] == ARTIST  # the canary is really there
    return data


def pdf_with_author() -> bytes:
    pdf = FPDF()
    pdf.set_author(AUTHOR)
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="Bien lai thu tien")
    data = bytes(pdf.output())
    assert b"/Author" in data
    assert AUTHOR.encode() in data  # the canary is really there
    return data


def _exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif()


def assert_no_photo_metadata(data: bytes) -> None:
    exif = _exif_of(data)
    assert ARTIST_TAG not in exif
    assert not exif.get_ifd(GPS_IFD)
    assert ARTIST.encode() not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (48, 32)  # still the photo


def assert_no_pdf_author(data: bytes) -> None:
    assert data.startswith(b"%PDF")
    assert b"/Author" not in data
    assert b"Canary-Author" not in data


@pytest.fixture
def ram_parent() -> Iterator[Path]:
    """A parent directory of this test's own on /dev/shm (tmpfs)."""
    parent = Path(tempfile.mkdtemp(prefix="mb-test-", dir="/dev/shm"))
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def fake_mounts(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mounts"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_photo_loses_its_gps_position_and_artist(ram_parent: Path) -> None:
    with Scratch(ram_parent) as scratch:
        outcome = scratch.clean([jpeg_with_gps()])
        assert outcome.left_out is None
        assert outcome.content_type == "image/jpeg"
        assert_no_photo_metadata(b"".join(outcome.read()))
        # only the cleaned copy is left; the original is gone
        assert [p.name for p in scratch.path.iterdir()] == ["file-1.cleaned.jpg"]
    assert list(ram_parent.iterdir()) == []


def test_a_pdf_loses_its_author(ram_parent: Path) -> None:
    with Scratch(ram_parent) as scratch:
        outcome = scratch.clean([pdf_with_author()])
        assert outcome.content_type == "application/pdf"
        assert outcome.cleaned is not None
        assert_no_pdf_author(outcome.cleaned.read_bytes())
    assert list(ram_parent.iterdir()) == []


def test_an_unknown_type_and_a_damaged_file_are_left_out(ram_parent: Path) -> None:
    with Scratch(ram_parent) as scratch:
        unknown = scratch.clean([UNKNOWN_BINARY])
        assert (unknown.left_out, unknown.cleaned) == (LeftOut.UNSUPPORTED, None)
        damaged = scratch.clean([jpeg_with_gps()[:200]])  # a JPEG cut short
        assert damaged.content_type == "image/jpeg"
        assert (damaged.left_out, damaged.cleaned) == (LeftOut.FAILED, None)
        with pytest.raises(ValueError, match="left out"):
            next(unknown.read())
        assert list(scratch.path.iterdir()) == []  # nothing of either stays behind


def test_the_type_comes_from_the_content_not_a_name(ram_parent: Path) -> None:
    # Nothing declared is used: a photo is cleaned as a photo, whatever it was called.
    with Scratch(ram_parent) as scratch:
        outcome = scratch.clean(iter([jpeg_with_gps()[:100], jpeg_with_gps()[100:]]))
        assert (outcome.content_type, outcome.extension) == ("image/jpeg", ".jpg")


def test_a_slow_clean_is_stopped_and_leaves_nothing(ram_parent: Path) -> None:
    with Scratch(ram_parent) as scratch:
        outcome = scratch.clean([pdf_with_author()], timeout=0.001)
        assert (outcome.left_out, outcome.cleaned) == (LeftOut.TIMEOUT, None)
        assert list(scratch.path.iterdir()) == []


def test_the_scratch_directory_is_private_and_removed_even_on_error(ram_parent: Path) -> None:
    scratch = Scratch(ram_parent)
    assert stat.S_IMODE(scratch.path.stat().st_mode) == 0o700
    assert scratch.path.name.startswith("minhbach-scratch-")

    def failing() -> Iterator[bytes]:
        yield b"%PDF-1.4 half a file"
        raise RuntimeError("decryption failed half way")

    with pytest.raises(RuntimeError):
        scratch.clean(failing())
    assert list(scratch.path.iterdir()) == []  # the half-written plaintext is gone
    scratch.close()
    scratch.close()  # twice is fine
    assert list(ram_parent.iterdir()) == []
    with pytest.raises(MetadataError):
        scratch.clean([b"late"])


def test_a_scratch_parent_that_is_not_in_memory_is_refused(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounts = fake_mounts(tmp_path, "/dev/sda1 / ext4 rw,relatime 0 0\n")
    with pytest.raises(MetadataError) as refused:
        Scratch(disk, mounts_file=mounts)
    assert refused.value.code == "scratch_not_ram"
    assert list(disk.iterdir()) == []  # not even a directory was made
    with pytest.raises(MetadataError) as missing:
        Scratch(tmp_path / "does-not-exist", mounts_file=mounts)
    assert missing.value.code == "scratch_unavailable"


def test_the_real_mount_table_refuses_a_disk_directory() -> None:
    # The repository's own directory is never tmpfs on a developer's or CI machine.
    here = Path(__file__).resolve().parent
    if metadata.filesystem_of(here, Path("/proc/self/mounts").read_text()) in {"tmpfs", "ramfs"}:
        pytest.skip("this checkout lives in memory")
    with pytest.raises(MetadataError):
        metadata.check_ram_backed(here)


def test_the_longest_mount_point_decides() -> None:
    mounts = "\n".join(
        [
            "/dev/sda1 / ext4 rw 0 0",
            "tmpfs /dev/shm tmpfs rw 0 0",
            "/dev/sdb1 /dev/shm/disk ext4 rw 0 0",
            r"tmpfs /mnt/with\040space tmpfs rw 0 0",
            "/dev/sdc1 /dev/shmem ext4 rw 0 0",
            "tmpfs /srv tmpfs rw 0 0",
            "/dev/sdd1 /srv xfs rw 0 0",  # mounted over the tmpfs: the later one counts
        ]
    )
    cases = {
        "/dev/shm": "tmpfs",
        "/dev/shm/a/b": "tmpfs",
        "/dev/shm/disk/x": "ext4",
        "/dev/shmem/x": "ext4",  # a name that merely starts like /dev/shm
        "/mnt/with space/x": "tmpfs",
        "/srv/x": "xfs",
        "/home": "ext4",
    }
    for path, kind in cases.items():
        assert metadata.filesystem_of(Path(path), mounts) == kind, path


def test_missing_tools_refuse_to_start(ram_parent: Path) -> None:
    with pytest.raises(MetadataError) as refused:
        Scratch(ram_parent, mat2=Path("/nonexistent/mat2"))
    assert refused.value.code == "tool_missing"
    assert list(ram_parent.iterdir()) == []


def test_tools_see_a_minimal_environment(ram_parent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINHBACH_SECRET_FOR_TEST", "do-not-pass-on")
    with Scratch(ram_parent) as scratch:
        environment = scratch._environment()
    assert "MINHBACH_SECRET_FOR_TEST" not in environment
    for name in ("HOME", "TMPDIR", "XDG_CACHE_HOME"):
        assert environment[name] == str(scratch.path)
