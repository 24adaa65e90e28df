"""deploy/systemd under the real systemd-analyze: the units verify, and are sandboxed.

The units name the installed paths (/opt/minhbach, its virtual environment); the test
renders them into a temporary folder with those paths moved to this checkout and this
interpreter's environment, so that ``systemd-analyze verify`` finds the programs they
start, and fails on any line it prints about one of our files. It runs as an ordinary
process, against no service manager.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from casework.settings import MailSettings, Settings
from cli import cli
from tests.programs import require_program

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/minhbach"
INSTALLED_BIN = INSTALLED + "/.venv/bin"
APPS = {"minhbach-submit": "submit", "minhbach-review": "review"}
JOBS = {
    "minhbach-uploads-collect": "uploads collect",
    "minhbach-retention-purge": "retention purge",
    "minhbach-deadlines-refresh": "deadlines refresh",
    "minhbach-backup": "backup create --to /var/backups/minhbach",
    "minhbach-notify-digest": "notify digest",
}
# Settings every service holds to, whatever it runs.
SANDBOX = {
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "PrivateIPC": "yes",
    "ProtectHostname": "yes",
    "ProtectClock": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "ProtectProc": "invisible",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
    "UMask": "0077",
    "MemoryDenyWriteExecute": "yes",
}
# What the review app gives up for mat2's bubblewrap (see its unit); everything else has it.
FOR_BUBBLEWRAP = {
    "ProtectKernelTunables": "yes",
    "ProtectKernelLogs": "yes",
    "ProcSubset": "pid",
    "PrivateUsers": "yes",
    "RestrictNamespaces": "yes",
}
_EXPOSURE = re.compile(r"Overall exposure level for (\S+): (\d+\.\d+) (\w+)")


def unit_files() -> list[Path]:
    return sorted(UNITS.glob("minhbach-*.service")) + sorted(UNITS.glob("minhbach-*.timer"))


def render(source: Path, folder: Path, text: str | None = None) -> Path:
    """``source`` with the installed paths moved here: the checkout, this environment."""
    content = source.read_text(encoding="utf-8") if text is None else text
    content = content.replace(INSTALLED_BIN, str(Path(sys.executable).parent))
    content = content.replace(INSTALLED, str(ROOT))
    target = folder / source.name
    target.write_text(content, encoding="utf-8")
    return target


def complaints(analyze: str, files: Iterable[Path]) -> list[str]:
    """What ``systemd-analyze verify`` says about our files: every line naming one."""
    paths = list(files)
    done = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "info", "SYSTEMD_PAGER": ""},
    )
    names = {path.name for path in paths} | {path.stem for path in paths}
    lines = (done.stdout + done.stderr).splitlines()
    found = [line for line in lines if any(name in line for name in names)]
    if done.returncode != 0 and not found:
        found = lines or [f"systemd-analyze verify exited with {done.returncode}"]
    return found


def directives(path: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, all values of a key in order."""
    found: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def setting(path: Path, key: str) -> str | None:
    """The value systemd uses for a single-valued key: the last one."""
    values = directives(path).get(key)
    return None if values is None else values[-1]


def environment_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


@pytest.fixture
def analyze() -> str:
    return require_program("systemd-analyze")


def test_every_unit_passes_systemd_analyze_verify(analyze: str, tmp_path: Path) -> None:
    rendered = [render(path, tmp_path) for path in unit_files()]
    assert len(rendered) == 2 + 2 * len(JOBS)
    assert complaints(analyze, rendered) == []


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (("ProtectSystem=strict", "ProtectSystem=strictly"), "strictly"),
        (("NoNewPrivileges=yes", "NoNewPrivilege=yes"), "NoNewPrivilege"),
        (("/.venv/bin/gunicorn", "/.venv/bin/gunicorn-missing"), "gunicorn-missing"),
    ],
)
def test_the_check_fails_on_a_spoiled_unit(
    analyze: str, tmp_path: Path, spoil: tuple[str, str], expected: str
) -> None:
    source = UNITS / "minhbach-submit.service"
    text = source.read_text(encoding="utf-8")
    assert text.count(spoil[0]) == 1
    spoiled = render(source, tmp_path, text.replace(*spoil))
    found = complaints(analyze, [spoiled])
    assert any(expected in line for line in found), found


@pytest.mark.parametrize("path", sorted(UNITS.glob("minhbach-*.service")), ids=lambda p: p.stem)
def test_every_service_is_sandboxed(path: Path) -> None:
    for key, value in SANDBOX.items():
        assert setting(path, key) == value, key
    families = (setting(path, "RestrictAddressFamilies") or "").split()
    assert set(families) <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}, families
    assert directives(path)["SystemCallFilter"][0].split()[0] == "@system-service"
    assert "ReadWritePaths" not in directives(path) or path.stem == "minhbach-backup"
    if path.stem != "minhbach-review":
        for key, value in FOR_BUBBLEWRAP.items():
            assert setting(path, key) == value, key
        assert families == ["AF_UNIX", "AF_INET", "AF_INET6"]


def test_the_review_app_keeps_what_mat2s_bubblewrap_needs_and_no_more() -> None:
    path = UNITS / "minhbach-review.service"
    for key in ("ProtectKernelTunables", "ProtectKernelLogs", "ProcSubset"):
        assert setting(path, key) is None, key  # each mounts over part of /proc
    assert (setting(path, "RestrictNamespaces") or "").split() == [
        "user", "mnt", "pid", "net", "ipc", "uts", "cgroup",
    ]  # fmt: skip
    assert (setting(path, "SystemCallFilter") or "").split() == ["@system-service", "@mount"]
    assert setting(path, "RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6 AF_NETLINK"


def test_the_review_apps_scratch_is_a_tmpfs_of_its_own() -> None:
    path = UNITS / "minhbach-review.service"
    assert "MINHBACH_SCRATCH_DIR=/dev/shm" in directives(path)["Environment"]
    assert setting(path, "TemporaryFileSystem") == "/dev/shm:mode=1777,nosuid,nodev,noexec"
    assert setting(UNITS / "minhbach-submit.service", "TemporaryFileSystem") is None


@pytest.mark.parametrize(("unit", "app"), APPS.items())
def test_each_app_runs_under_gunicorn_as_its_own_user(unit: str, app: str) -> None:
    path = UNITS / f"{unit}.service"
    port = {"submit": 5000, "review": 5001}[app]
    assert setting(path, "ExecStart") == (
        f"{INSTALLED_BIN}/gunicorn --config {INSTALLED}/deploy/gunicorn.conf.py "
        f"--bind 127.0.0.1:{port} {app}:create_app()"
    )
    assert setting(path, "User") == setting(path, "Group") == unit
    assert setting(path, "EnvironmentFile") == f"/etc/minhbach/{app}.env"
    assert setting(path, "StateDirectory") == unit
    assert f"MINHBACH_INSTANCE=/var/lib/{unit}" in directives(path)["Environment"]
    assert setting(path, "WorkingDirectory") == INSTALLED
    assert setting(path, "Type") == "notify"


@pytest.mark.parametrize(("unit", "command"), JOBS.items())
def test_each_job_is_a_timer_and_a_oneshot_minhbach_command(unit: str, command: str) -> None:
    service, timer = UNITS / f"{unit}.service", UNITS / f"{unit}.timer"
    assert setting(service, "Type") == "oneshot"
    assert setting(service, "ExecStart") == f"{INSTALLED_BIN}/minhbach {command}"
    assert setting(service, "User") == "minhbach-jobs"
    assert setting(service, "EnvironmentFile") == "/etc/minhbach/jobs.env"
    assert setting(timer, "OnCalendar")
    assert setting(timer, "Persistent") == "true"
    assert setting(timer, "WantedBy") == "timers.target"
    # The command exists, with these options.
    arguments, options = command.split(" --")[0].split(), re.findall(r"--[a-z-]+", command)
    result = CliRunner().invoke(cli, [*arguments, "--help"])
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.output


def test_the_backup_job_writes_only_to_the_backup_folder() -> None:
    service = UNITS / "minhbach-backup.service"
    assert directives(service)["ReadWritePaths"] == ["/var/backups/minhbach"]
    assert JOBS["minhbach-backup"].endswith("--to /var/backups/minhbach")


@pytest.mark.parametrize("app", ["submit", "review", "jobs"])
def test_environment_examples_are_settings_the_code_reads(app: str, tmp_path: Path) -> None:
    example = environment_file(UNITS / f"{app}.env.example")
    readers = ["casework/settings.py", "store/instance.py", "deploy/gunicorn.conf.py"]
    sources = "".join((ROOT / path).read_text(encoding="utf-8") for path in readers)
    for key in example:
        assert key.startswith("MINHBACH_"), key
        assert f'"{key.removeprefix("MINHBACH_")}"' in sources or f'"{key}"' in sources, key
    settings = Settings.from_env({**example, "MINHBACH_INSTANCE": str(tmp_path)})
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.blob_store == "database"
    if app == "jobs":  # the daily e-mail summary's settings hold together
        assert MailSettings.from_env(example).host == "mail.example.vn"


def exposure(analyze: str, files: Iterable[Path]) -> Mapping[str, tuple[float, str]]:
    done = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "--offline" in done.stderr and "unrecognized" in done.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    found = {m.group(1): (float(m.group(2)), m.group(3)) for m in _EXPOSURE.finditer(done.stdout)}
    assert found, done.stdout + done.stderr
    return found


def test_systemd_rates_every_service_ok_or_better(analyze: str, tmp_path: Path) -> None:
    """``systemd-analyze security``: each service's exposure is rated OK, SAFE or PERFECT
    (the scores of systemd 252 are in README.md; other versions weigh differently)."""
    rendered = [render(path, tmp_path) for path in sorted(UNITS.glob("minhbach-*.service"))]
    rated = exposure(analyze, rendered)
    assert set(rated) == {path.name for path in rendered}
    for name, (_score, level) in rated.items():
        assert level in ("OK", "SAFE", "PERFECT"), (name, rated[name])


# The sandbox mat2 0.13 (libmat2/bubblewrap.py) puts around exiftool and ffmpeg.
MAT2_BWRAP = [
    *("--ro-bind", "/usr", "/usr", "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"),
    *("--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"),
    *("--symlink", "usr/bin", "/bin", "--dev", "/dev", "--proc", "/proc", "--chdir", "/"),
    *("--unshare-user-try", "--unshare-ipc", "--unshare-pid", "--unshare-net"),
    *("--unshare-uts", "--unshare-cgroup-try", "--new-session", "--cap-drop", "all"),
]
# A mount systemd makes for each setting, done by hand in a mount namespace of the test's.
MOUNTS_OF = {
    "nothing": "true",
    "ProtectKernelTunables": "mount --bind /proc/sys /proc/sys",
    "ProtectKernelLogs": "mount --bind /dev/null /proc/kmsg",
    "ProcSubset=pid": "mount -t proc -o subset=pid proc /proc",
    "ProtectProc=invisible": "mount -t proc -o hidepid=invisible proc /proc",
    "TemporaryFileSystem=/dev/shm": "mount -t tmpfs -o mode=1777,nosuid,nodev,noexec t /dev/shm",
}


def bubblewrap_under(setting: str) -> subprocess.CompletedProcess[str]:
    """mat2's bubblewrap, run as nobody after the mounts that ``setting`` makes."""
    unshare, setpriv = require_program("unshare"), require_program("setpriv")
    bwrap = require_program("bwrap")
    if os.geteuid() != 0:
        pytest.skip("making systemd's mounts by hand needs root")
    script = f'{MOUNTS_OF[setting]} && exec "$@"'
    nobody = [
        setpriv,
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        bwrap,
        *MAT2_BWRAP,
        "/usr/bin/true",
    ]
    return subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh", *nobody],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("setting", "works"),
    [
        ("ProtectKernelTunables", False),
        ("ProtectKernelLogs", False),
        ("ProcSubset=pid", False),
        ("ProtectProc=invisible", True),
        ("TemporaryFileSystem=/dev/shm", True),
    ],
)
def test_what_the_review_unit_leaves_out_would_break_mat2s_sandbox(
    setting: str, works: bool
) -> None:
    """The review unit's choices, shown on the kernel: each setting it does without makes
    bubblewrap fail to mount the sandbox's /proc; those it keeps do not."""
    baseline = bubblewrap_under("nothing")
    if baseline.returncode != 0:
        pytest.skip(f"bubblewrap cannot run here at all: {baseline.stderr.strip()}")
    done = bubblewrap_under(setting)
    assert (done.returncode == 0) is works, done.stderr
    if not works:
        assert "proc" in done.stderr, done.stderr


def test_each_app_listens_where_nginx_sends_its_requests() -> None:
    nginx = "".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "deploy" / "nginx").glob("*.conf")
    )
    upstreams = set(re.findall(r"^\s*server\s+(127\.0\.0\.1:\d+)\s*;", nginx, re.MULTILINE))
    for unit in APPS:
        command = setting(UNITS / f"{unit}.service", "ExecStart") or ""
        bound = re.search(r"--bind (\S+)", command)
        assert bound, command
        assert bound.group(1) in upstreams, (unit, bound.group(1), upstreams)


# prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): the kernel's own form (Linux 6.3) of what
# MemoryDenyWriteExecute=yes enforces; inherited by every process the child starts.
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
REFUSED = "refused writable executable memory"
UNDER_MDWE = """
import mmap, subprocess, sys, tempfile
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from crypto.kdf import Argon2Params, verify_hash

key = X25519PrivateKey.generate()
shared = key.exchange(X25519PrivateKey.generate().public_key())
sealed = AESGCM(shared).encrypt(bytes(12), b"report", b"")
Ed25519PrivateKey.generate().sign(sealed)
assert verify_hash(Argon2Params.checked(1, 8).hash(b"code"), b"code")  # libsodium

app, page, bwrap = sys.argv[1], sys.argv[2], sys.argv[3:]
create_app = __import__(app).create_app
assert create_app().test_client().get(page).status_code == 200, page
if app == "review":  # the export for verifiers: mat2, and exiftool in its bubblewrap
    from casework.metadata import Scratch
    from tests.casework.test_metadata import jpeg_with_gps, pdf_with_author

    with tempfile.TemporaryDirectory(dir="/dev/shm") as parent, Scratch(Path(parent)) as scratch:
        for sample in (jpeg_with_gps(), pdf_with_author()):
            assert scratch.clean([sample]).left_out is None
        photo = scratch.path / "photo.jpg"
        photo.write_bytes(jpeg_with_gps())
        where = ["--bind", str(scratch.path), str(scratch.path)]
        exiftool = ["/usr/bin/exiftool", "-all=", "-o", str(scratch.path / "out.jpg"), str(photo)]
        subprocess.run([*bwrap, *where, *exiftool], check=True, capture_output=True)
        assert (scratch.path / "out.jpg").stat().st_size > 0
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except PermissionError:
    print("refused writable executable memory")
"""


def _refuse_writable_executable_memory() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        os._exit(77)  # the kernel is older than 6.3


@pytest.mark.parametrize(("app", "page"), [("submit", "/report"), ("review", "/login")])
def test_the_apps_need_no_writable_executable_memory(app: str, page: str, tmp_path: Path) -> None:
    """Why every unit may set MemoryDenyWriteExecute=yes: under the kernel's form of the
    same rule (enforced by the kernel, not by systemd's seccomp filter) each app serves a
    page, the libraries (cryptography, libsodium) seal, sign and hash, and the review app's
    mat2 cleans a photo and a PDF and runs exiftool in mat2's bubblewrap, while a writable
    executable mapping is refused: the rule was in force."""
    from tests.instances import instance

    bwrap = [require_program("bwrap"), *MAT2_BWRAP]
    if app == "review":
        require_program("mat2")
        require_program("exiftool")
        alone = subprocess.run([*bwrap, "/usr/bin/true"], capture_output=True, timeout=30)
        if alone.returncode != 0:
            pytest.skip(f"bubblewrap cannot run here at all: {alone.stderr!r}")
    with instance("sqlite", tmp_path) as place:
        done = subprocess.run(
            [sys.executable, "-c", UNDER_MDWE, app, page, *bwrap],
            env=place.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=_refuse_writable_executable_memory,
        )
    if done.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == REFUSED, done.stdout
