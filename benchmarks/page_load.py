"""Page-load benchmark: the public pages over a link like Tor's, with and without JavaScript.

Runs the real submit app under gunicorn (production's settings, one worker, a few threads,
loopback) and loads the report page and the follow-up start page in Debian's Chromium, each
time in a fresh browser context (an empty cache, like a new Tor Browser session) whose
network Chromium slows down to ``--latency`` and ``--throughput`` (DevTools'
``Network.emulateNetworkConditions``). Each page is loaded three ways in the same run:

- without JavaScript, usable at the load event: the baseline;
- with JavaScript as shipped (the page's build, static/js/dist/<page>.js), usable once
  the load event has fired and main.js has marked the form ``data-enhanced``;
- with JavaScript from the source modules, unbundled, as before the builds (a second
  server, ``benchmarks/_page_server.py``; ``--skip-modules`` leaves it out).

Prints requests, bytes and time to usable, the median and range over the repeats, and the
ratio of the JavaScript page's median time to the no-JavaScript page's: the target is at
most 1.5. Not part of the test suite; run it by hand from the repository root (README.md):

    .venv/bin/python -m benchmarks.page_load              # 5 repeats (~1.5 minutes)
    .venv/bin/python -m benchmarks.page_load --repeat 1 --skip-modules   # a quick look

The exit status is 0 if the target is met, 1 if it is missed, 2 if a run failed.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from benchmarks import _harness as harness
from benchmarks._harness import BenchmarkError, KiB, MiB, Verdict
from benchmarks._page_server import create_unbundled_app
from benchmarks.upload import HOST, Instance, Server
from casework.settings import BLOB_STORE_FILES
from submit.page_scripts import PAGE_SCRIPTS
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

TARGET = 1.5  # the JavaScript page's median time over the no-JavaScript page's, at most
TARGET_NAME = "JavaScript page / no-JavaScript page"
DEFAULT_REPEAT = 5
DEFAULT_LATENCY = 300  # milliseconds added to every response: a Tor circuit's round trip
DEFAULT_THROUGHPUT = 250  # kB/s (1,000 bytes) each way: a slow circuit
MAX_FILE_SIZE = 16 * MiB  # the instance's setting; nothing is uploaded here
TIMEOUT_MS = 120_000  # one page load, at most
BUNDLED_APP = "submit:create_app()"
UNBUNDLED_APP = f"benchmarks._page_server:{create_unbundled_app.__name__}()"
LABEL_WIDTH = 30
FAVICON = "/favicon.ico"


@dataclass(frozen=True)
class PageKind:
    name: str
    path: str
    form: str  # the selector of what main.js enhances and then marks data-enhanced


PAGES = (
    PageKind("report", "/report", "#report-form"),
    PageKind("follow-up", "/followup", "#followup-form"),
)


@dataclass(frozen=True)
class Variant:
    label: str
    javascript: bool
    bundled: bool  # served by the real app (the bundle) or by the unbundled one


NO_JS = Variant("no JavaScript (baseline)", javascript=False, bundled=True)
BUNDLE = Variant("JavaScript, bundle", javascript=True, bundled=True)
MODULES = Variant("JavaScript, modules (before)", javascript=True, bundled=False)


@dataclass(frozen=True)
class Config:
    repeat: int
    latency: int  # milliseconds
    throughput: int  # bytes per second
    variants: tuple[Variant, ...]

    def conditions(self) -> dict[str, Any]:
        """Network.emulateNetworkConditions's parameters."""
        return {
            "offline": False,
            "latency": self.latency,
            "downloadThroughput": self.throughput,
            "uploadThroughput": self.throughput,
        }


@dataclass(frozen=True)
class Load:
    """One page load: what it fetched until usable, and how long that took."""

    requests: int
    size: int  # bytes received, headers included
    seconds: float


class Traffic:
    """Requests sent and bytes received by one page, counted from DevTools' events."""

    def __init__(self, context: BrowserContext, page: Page, config: Config) -> None:
        self.requests = 0
        self.size = 0
        self._ignored: set[str] = set()
        session = context.new_cdp_session(page)
        session.on("Network.requestWillBeSent", self._on_request)
        session.on("Network.loadingFinished", self._on_finished)
        session.send("Network.enable")
        session.send("Network.emulateNetworkConditions", config.conditions())

    def _on_request(self, event: dict[str, Any]) -> None:
        # Chromium asks for /favicon.ico after the load event, with or without JavaScript,
        # and the site has none: not part of the page, and only sometimes before usable.
        if event["request"]["url"].endswith(FAVICON):
            self._ignored.add(event["requestId"])
        else:
            self.requests += 1

    def _on_finished(self, event: dict[str, Any]) -> None:
        if event["requestId"] not in self._ignored:
            self.size += int(event["encodedDataLength"])


def load_once(
    browser: Browser, base_url: str, kind: PageKind, variant: Variant, config: Config
) -> Load:
    """Load ``kind`` in a fresh context until it is usable."""
    context = browser.new_context(java_script_enabled=variant.javascript)
    try:
        page = context.new_page()
        traffic = Traffic(context, page, config)
        started = time.perf_counter()
        page.goto(f"{base_url}{kind.path}", wait_until="load", timeout=TIMEOUT_MS)
        if variant.javascript:
            enhanced = page.locator(f"{kind.form}[data-enhanced]")
            enhanced.wait_for(state="attached", timeout=TIMEOUT_MS)
        seconds = time.perf_counter() - started
        return Load(traffic.requests, traffic.size, seconds)
    except PlaywrightError as error:
        raise BenchmarkError(f"{kind.name}, {variant.label}: {error.message}") from None
    finally:
        context.close()


Results = dict[tuple[str, Variant], list[Load]]


def measure(browser: Browser, urls: dict[bool, str], config: Config) -> Results:
    """Every page in every variant, once per repeat; the variants' order alternates."""
    # Unmeasured, once per server and page: the first request of a page compiles its
    # templates in the worker, which no later visitor waits for.
    for kind in PAGES:
        for variant in config.variants:
            if variant.javascript:
                load_once(browser, urls[variant.bundled], kind, variant, config)
    results: Results = {}
    for repeat in range(config.repeat):
        for kind in PAGES:
            for variant in harness.alternate(config.variants, repeat):
                load = load_once(browser, urls[variant.bundled], kind, variant, config)
                results.setdefault((kind.name, variant), []).append(load)
                harness.progress(
                    f"{harness.run_label(repeat, config.repeat)} {kind.name:<9} "
                    f"{variant.label:<{LABEL_WIDTH}} {load.requests:3} requests "
                    f"{load.size / KiB:7.1f} KiB {load.seconds:6.2f} s"
                )
    return results


# --- report ----------------------------------------------------------------------------------

HEADINGS = (
    f"{'page':<10}{'variant':<{LABEL_WIDTH}} {'requests':>8} {'KiB':>7} "
    f"{'median s':>9} {'range s':>11} {'ratio':>6}  result"
)


def row(kind: str, variant: Variant, loads: Sequence[Load], baseline: float) -> tuple[str, float]:
    """One table row, and the ratio of its median time to the baseline's."""
    times = [load.seconds for load in loads]
    median = statistics.median(times)
    ratio = median / baseline
    judged = variant is BUNDLE
    result = harness.pass_fail(ratio <= TARGET) if judged else ("" if variant is NO_JS else "-")
    text = (
        f"{kind:<10}{variant.label:<{LABEL_WIDTH}} "
        f"{statistics.median(load.requests for load in loads):8.0f} "
        f"{statistics.median(load.size for load in loads) / KiB:7.1f} {median:9.2f} "
        f"{min(times):5.2f}-{max(times):<5.2f} {ratio:6.2f}  {result}"
    )
    return text.rstrip(), ratio


def table(results: Results, config: Config) -> harness.Table:
    rows, verdicts = [HEADINGS], []
    for kind in PAGES:
        baseline = statistics.median(load.seconds for load in results[(kind.name, NO_JS)])
        for variant in config.variants:
            text, ratio = row(kind.name, variant, results[(kind.name, variant)], baseline)
            rows.append(text)
            if variant is BUNDLE:
                detail = f"{kind.name} {ratio:.2f}"
                verdicts.append(Verdict(TARGET_NAME, ratio <= TARGET, detail, TARGET - ratio))
    caption = [
        f"Time from navigation until usable, {config.repeat} fresh loads each; "
        "ratio = median / the same page's no-JavaScript median"
    ]
    return harness.Table(caption, rows, verdicts)


def build_size(script: str) -> str:
    """``report.js 40.4 KiB (15.3 gzipped)``: as stored, and as sent to these browsers."""
    data = (harness.REPO_ROOT / "submit" / "static" / script).read_bytes()
    sent = gzip.compress(data, compresslevel=9, mtime=0)
    return f"{Path(script).name} {len(data) / KiB:.1f} KiB ({len(sent) / KiB:.1f} gzipped)"


def heading(browser: Browser, config: Config) -> str:
    package = json.loads((harness.REPO_ROOT / "package.json").read_text(encoding="utf-8"))
    sizes = ", ".join(build_size(script) for script in PAGE_SCRIPTS.values())
    return "\n".join(
        [
            f"Public pages over an emulated link: {config.latency} ms latency, "
            f"{config.throughput / 1000:g} kB/s each way, empty cache",
            harness.versions(
                f"Chromium {browser.version}",
                f"esbuild {package['devDependencies']['esbuild']}",
                f"builds: {sizes}",
            ),
        ]
    )


NOTES = (
    "Usable: without JavaScript, the load event; with it, the load event and the form "
    "marked data-enhanced by main.js.",
)


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page_load", description=__doc__)
    harness.add_repeat_argument(parser, DEFAULT_REPEAT, "each page in each variant")
    parser.add_argument(
        "--latency", type=int, default=DEFAULT_LATENCY, help="milliseconds (default 300)"
    )
    parser.add_argument(
        "--throughput", type=int, default=DEFAULT_THROUGHPUT, help="kB/s (default 250)"
    )
    parser.add_argument(
        "--skip-modules", action="store_true", help="leave out the unbundled modules"
    )
    args = parser.parse_args(argv)
    harness.require_at_least(parser, "--repeat", args.repeat, 1)
    harness.require_at_least(parser, "--throughput", args.throughput, 1)
    harness.require_at_least(parser, "--latency", args.latency, 0)
    variants = (NO_JS, BUNDLE) if args.skip_modules else (NO_JS, BUNDLE, MODULES)
    return Config(args.repeat, args.latency, args.throughput * 1000, variants)


@contextlib.contextmanager
def servers(workdir: Path, config: Config) -> Iterator[dict[bool, str]]:
    """The base URL of the real app (True) and, if measured, of the unbundled one (False)."""
    apps = {True: BUNDLED_APP}
    if MODULES in config.variants:
        apps[False] = UNBUNDLED_APP
    with (
        Instance.created(workdir, MAX_FILE_SIZE, BLOB_STORE_FILES) as instance,
        contextlib.ExitStack() as running,
    ):
        urls = {}
        for bundled, app in apps.items():
            log = workdir / f"server-{'bundle' if bundled else 'modules'}.log"
            server = running.enter_context(Server.running(instance, log, app))
            urls[bundled] = f"http://{HOST}:{server.port}"
        yield urls


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    if not CHROMIUM.exists():
        raise BenchmarkError(f"{CHROMIUM} is missing: run `make browser`")
    with (
        harness.scratch_dir("minhbach-bench-pages-") as workdir,
        servers(workdir, config) as urls,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            results = measure(browser, urls, config)
            top = heading(browser, config)
        finally:
            browser.close()
    text, passed = harness.render_report(
        top, [table(results, config)], {TARGET_NAME: f"at most {TARGET}"}, NOTES
    )
    return harness.print_report(text, passed)


if __name__ == "__main__":
    # A Ctrl-C unwinds through main, which stops the servers and removes the instance.
    harness.run_main(main, handle_interrupt=True)
