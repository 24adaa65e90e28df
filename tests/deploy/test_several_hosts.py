"""The production shape on one machine: two public hosts, one review host, PostgreSQL with
the roles, Redis, nginx in front (docs/operations.md, "How it grows").

- Each public host is a submit gunicorn (2 workers x 4 threads) with an instance folder of
  its own, connected as the submit role, its blobs in the database
  (``MINHBACH_BLOB_STORE=database``) and its limits in Redis; the two share nothing but the
  database, Redis and the submit secret key the operator installs on each.
- The review host is a review gunicorn connected as the review role.
- nginx serves the onion site of ``deploy/nginx`` with both public hosts in its upstream
  (requests alternate between them) and the review site.

Through nginx, a crowd of tipsters sends reports with and without JavaScript (files, resumable
uploads, follow-ups) while inspectors read cases in the review app; then each report opens
with an inspector's key, and each is shown by the review app. Reports sent straight to each
public host are read there too. A limit counts the requests of both hosts together, and a
challenge spent at one is refused at the other.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks import load
from casework.settings import Settings
from cli import cli
from tests import gunicorn, postgres, redis
from tests.cli.helpers import assert_ok
from tests.deploy import nginx_helpers
from tests.deploy.nginx_helpers import HOST, free_port
from tests.deploy.roles_helpers import Roles, app_roles, as_role, grant, owned_database
from tests.instances import Instance, populated
from tests.programs import missing, require_program
from tests.reliability.conftest import CHEAP
from tests.reliability.helpers import ApiVisitor, evidence, report_form, sign_in
from tests.submit.test_report_form import CODE
from tests.visitor import Tally, Visitor, multipart
from web.secret_key import load_or_create

PUBLIC_HOSTS = ("public-a", "public-b")
CROWD = load.Config(reports=8, concurrency=4, followup_every=2, inspectors=1)
# One limit made small, to be seen counting both hosts' requests together; every other
# limit is production's (the crowd stays under them).
OFFSET_LIMIT = 3
LIMITS = {"api.upload_offset": {"upload": f"{OFFSET_LIMIT} per minute"}}
_CASE_LINK = re.compile(r'href="/cases/([0-9a-f-]{36})"')
_FILE_LINK = re.compile(r"/cases/[0-9a-f-]{36}/files/\d+")


@dataclass
class Shape:
    place: Instance
    roles: Roles
    hosts: dict[str, gunicorn.Gunicorn]  # public-a, public-b, review
    ports: dict[str, int]  # nginx: onion, review
    settings: Settings  # the jobs' view: the owner's connection, blobs in the database
    signed_in: Visitor | None = None

    def url(self, site: str) -> str:
        return f"http://{HOST}:{self.ports[site]}"

    def inspector(self) -> Visitor:
        """An inspector signed in to the review app through nginx, once: a TOTP code is
        accepted once, and the crowd's inspector is another."""
        if self.signed_in is None:
            self.signed_in = Visitor(self.url("review"), Tally())
            sign_in(self.signed_in, self.place.accounts["minh"])
        return self.signed_in


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shape]:
    nginx = require_program("nginx")
    server = postgres.server_url()
    if server is None:
        missing(postgres.NOT_SET)
        return
    root = tmp_path_factory.mktemp("hosts")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        roles = stack.enter_context(app_roles(server))
        # The schema is made by `minhbach init` as an owner that is no superuser, and the
        # grants given by that owner, as docs/operations.md installs it.
        owner_url = stack.enter_context(owned_database(server, roles))
        assert_ok(CliRunner().invoke(cli, ["init"], env=_admin(root, owner_url)))
        place = populated(owner_url, root)
        grant(place.database_url, roles)
        common = {**place.env, **CHEAP, "MINHBACH_BLOB_STORE": "database"}
        public = {
            **common,
            "MINHBACH_RATELIMIT_STORAGE_URI": stack.enter_context(redis.fresh_database()),
            "MINHBACH_RATE_LIMIT_SCALE": "1",
            "MINHBACH_RATE_LIMITS": json.dumps(LIMITS),
        }
        hosts = {}
        secret = _submit_secret(root)
        for name in PUBLIC_HOSTS:
            env = _host(public, root / name, as_role(place.database_url, roles.submit))
            shutil.copy2(secret, Path(env["MINHBACH_INSTANCE"]) / secret.name)
            hosts[name] = stack.enter_context(_serving("submit", env, root / f"{name}.log"))
        # The review host keeps its own sign-in limits in its instance folder.
        env = _host(common, root / "review", as_role(place.database_url, roles.review))
        hosts["review"] = stack.enter_context(_serving("review", env, root / "review.log"))
        ports = {"onion": free_port(), "review": free_port()}
        main = _nginx_config(root / "nginx", hosts, ports)
        stack.enter_context(nginx_helpers.running(nginx, root / "nginx", main, [*ports.values()]))
        jobs = Settings.from_env({**common, "MINHBACH_INSTANCE": str(root / "jobs")})
        yield Shape(place, roles, hosts, ports, jobs)


def _admin(root: Path, database_url: str) -> dict[str, str]:
    """The settings of the administrator's commands (docs/operations.md's ``mb``)."""
    return {"MINHBACH_INSTANCE": str(root / "admin"), "MINHBACH_DATABASE_URL": database_url}


def _submit_secret(root: Path) -> Path:
    """The public hosts' one secret key (forms, sessions, challenges and limit keys are
    signed with it), made once as the operator does and copied to each host."""
    key = root / "secrets" / "submit-secret.key"
    load_or_create(key)
    return key


def _host(common: dict[str, str], folder: Path, database_url: str) -> dict[str, str]:
    instance_folder = folder / "instance"
    instance_folder.mkdir(parents=True, mode=0o700)
    return {
        **common,
        "MINHBACH_INSTANCE": str(instance_folder),
        "MINHBACH_DATABASE_URL": database_url,
    }


def _serving(
    app: str, env: dict[str, str], log: Path
) -> contextlib.AbstractContextManager[gunicorn.Gunicorn]:
    return gunicorn.running(f"{app}:create_app()", env, log, ready_path="/health")


def _nginx_config(prefix: Path, hosts: dict[str, gunicorn.Gunicorn], ports: dict[str, int]) -> Path:
    upstreams = "\n    ".join(f"server {HOST}:{hosts[name].port};" for name in PUBLIC_HOSTS)
    return nginx_helpers.install(
        prefix,
        {
            "minhbach-submit-upstream.conf": {"server 127.0.0.1:5000;": upstreams},
            "submit-onion.conf": {"listen 127.0.0.1:8080;": f"listen {HOST}:{ports['onion']};"},
            "review.conf": {
                "server 127.0.0.1:5001;": f"server {HOST}:{hosts['review'].port};",
                "listen 127.0.0.1:8081;": f"listen {HOST}:{ports['review']};",
            },
        },
    )


def test_a_crowd_through_nginx_loses_nothing_across_the_public_hosts(shape: Shape) -> None:
    jobs = load.prepare(shape.place, CROWD)
    tally = Tally()
    jobs.solve(shape.url("onion"), tally)
    sent, elapsed, pages = load.crowd(
        shape.url("onion"), shape.url("review"), shape.place, jobs, CROWD, tally
    )
    outcome = load.Outcome("postgresql", CROWD, sent, elapsed, 1.0, tally, inspector_pages=pages)
    load.verify(shape.place, outcome, shape.settings)

    assert outcome.accepted == CROWD.reports, tally.statuses
    assert len(outcome.stored) == CROWD.reports
    assert (outcome.undecryptable, outcome.duplicate_cases, outcome.duplicate_codes) == (0, 0, 0)
    assert tally.server_errors == 0, tally.statuses
    followed, asked = outcome.followups
    assert followed == asked > 0
    assert outcome.inspector_pages > 0
    assert {item.path for item in sent} == {"form", "api"}
    markers = {item.marker for item in sent}
    assert _shown_in_review(shape, markers) == markers


def test_reports_sent_to_each_public_host_are_read_in_the_review_app(shape: Shape) -> None:
    markers = {}
    for name in PUBLIC_HOSTS:
        marker = f"host-{name}-{uuid.uuid4().hex}"
        tipster = Visitor(shape.hosts[name].url, Tally())
        body, content_type = multipart(report_form(tipster, marker, evidence(marker, 4096)))
        reply = tipster.request("POST", "/report", body, {"Content-Type": content_type})
        assert reply.status == 200, reply.text[:300]
        assert CODE.search(reply.text), "no follow-up code shown"
        markers[name] = marker
    assert _shown_in_review(shape, set(markers.values())) == set(markers.values())
    # Each file comes back through the review app, read from the database as its role.
    files = _files_in_review(shape, set(markers.values()))
    assert files == {marker: evidence(marker, 4096) for marker in markers.values()}


def test_one_limit_counts_both_public_hosts(shape: Shape) -> None:
    api = ApiVisitor(shape.hosts["public-a"].url)
    upload = api.create_upload(64)
    hosts = [api.visitor, api.visitor.moved_to(shape.hosts["public-b"].url)]
    statuses = [
        hosts[turn % 2].request("HEAD", f"/api/v1/uploads/{upload}").status for turn in range(8)
    ]
    assert statuses == [200] * OFFSET_LIMIT + [429] * (8 - OFFSET_LIMIT), statuses


def test_a_challenge_spent_at_one_public_host_is_refused_at_the_other(shape: Shape) -> None:
    api = ApiVisitor(shape.hosts["public-a"].url)
    document = {"size": 100, "pow": api.solution("upload")}
    first = api.visitor.post_json("/api/v1/uploads", document, api.token)
    elsewhere = api.visitor.moved_to(shape.hosts["public-b"].url)
    again = elsewhere.post_json("/api/v1/uploads", document, api.token)
    assert first.status == 201, first.text
    assert again.status == 400, again.text
    assert '"pow_replayed"' in again.text, again.text


def _files_in_review(shape: Shape, markers: set[str]) -> dict[str, bytes]:
    """For each case page showing one of ``markers``, the file it offers, downloaded."""
    inspector = shape.inspector()
    files = {}
    for case in set(_CASE_LINK.findall(inspector.get("/cases").text)):
        page = inspector.get(f"/cases/{case}").text
        for marker in markers:
            if marker in page:
                [link] = set(_FILE_LINK.findall(page))
                download = inspector.get(link)
                assert download.status == 200, download.text[:300]
                files[marker] = download.body
    return files


def _shown_in_review(shape: Shape, markers: set[str]) -> set[str]:
    """The markers of ``markers`` that an inspector sees on the review app's case pages,
    signed in through nginx's review site."""
    inspector = shape.inspector()
    shown = set()
    for case in set(_CASE_LINK.findall(inspector.get("/cases").text)):
        page = inspector.get(f"/cases/{case}")
        assert page.status == 200, page.text[:300]
        shown |= {marker for marker in markers if marker in page.text}
    return shown
