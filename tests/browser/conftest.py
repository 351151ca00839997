"""Browser-test harness: a real Voilà server, real headless Chromium, axe-core.

Fixtures anyone can reuse in ``tests/browser/``:

``voila_server(notebook_dir=None, env=None, db_url=...)`` (module scope)
    Starts ``python -m workbench serve`` (Voilà with the workbench prelaunch hook) on a free
    port against the database ``db_url``, with HOME and the Jupyter directories in a temporary
    folder, and waits until it answers. Returns a :class:`Server` (``base_url``, ``pid``,
    ``log``, ``link(notebook, token)``). Every server started is stopped by its process group id
    when the module's tests are done.

``browser`` (session scope) / ``browser_page`` (per test)
    Chromium from ``/usr/bin/chromium`` through Playwright, headless; a fresh context (no
    cookies) and page per test.

``run_axe(page, context=None)`` / ``axe_serious(page)``
    Injects ``node_modules/axe-core/axe.min.js`` (running ``npm ci`` once if it is missing) and
    returns the violations; ``axe_serious`` returns only the serious and critical ones, as text.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
START_TIMEOUT = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base_url: str
    port: int
    pid: int
    log: Path

    def link(self, notebook: str, token: str | None = None, **query: str) -> str:
        params = dict(query)
        if token is not None:
            params = {"key": token, **params}
        from urllib.parse import urlencode

        return f"{self.base_url}/voila/render/{notebook}" + (f"?{urlencode(params)}" if params else "")

    def status(self, url: str) -> int:
        """The HTTP status of a plain GET (no browser, no cookies)."""
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def answers(self) -> bool:
        """Whether the server answers HTTP at all (any status)."""
        try:
            urllib.request.urlopen(f"{self.base_url}/voila/tree", timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def jupyter_env(scratch: Path) -> dict[str, str]:
    """HOME and every Jupyter/IPython directory inside ``scratch``."""
    env = {"HOME": str(scratch / "home"), "JUPYTER_CONFIG_DIR": str(scratch / "jupyter-config"),
           "JUPYTER_DATA_DIR": str(scratch / "jupyter-data"), "JUPYTER_RUNTIME_DIR": str(scratch / "jupyter-runtime"),
           "IPYTHONDIR": str(scratch / "ipython"), "MPLCONFIGDIR": str(scratch / "mpl")}
    for path in env.values():
        Path(path).mkdir(parents=True, exist_ok=True)
    return env


@pytest.fixture(scope="module")
def voila_server(tmp_path_factory):
    started: list[tuple[subprocess.Popen, object]] = []

    def start(*, db_url: str, notebook_dir: Path | str | None = None, env: dict[str, str] | None = None,
              round_name: str | None = None) -> Server:
        scratch = tmp_path_factory.mktemp("voila")
        port = free_port()
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_JUDGE", "WORKBENCH_ROLE"))}
        full_env.update(jupyter_env(scratch))
        full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *[p for p in [os.environ.get("PYTHONPATH")] if p]])
        full_env.update(env or {})
        command = [sys.executable, "-m", "workbench", "serve", "--db", db_url, "--port", str(port),
                   "--notebooks", str(notebook_dir or NOTEBOOKS)]
        if round_name:
            command += ["--round", round_name]
        log_path = scratch / "voila.log"
        log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
        process = subprocess.Popen(command, cwd=scratch, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        started.append((process, log))
        server = Server(f"http://127.0.0.1:{port}", port, process.pid, log_path)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"Voilà exited with code {process.returncode}:\n{server.log_tail()}")
            if server.answers():
                return server
            time.sleep(0.25)
        raise RuntimeError(f"Voilà did not answer within {START_TIMEOUT}s:\n{server.log_tail()}")

    yield start
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group we started: the server and its kernels
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


def _ensure_axe() -> Path:
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the accessibility check (apt-get install npm).")
        command = [npm, "ci" if (ROOT / "package-lock.json").exists() else "install", "--no-audit", "--no-fund"]
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
    return AXE


@pytest.fixture(scope="session")
def run_axe():
    script = _ensure_axe().read_text(encoding="utf-8")

    def run(page, context: str | None = None) -> list[dict]:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=script)
        target = json.dumps(context) if context else "document"
        result = page.evaluate(f"async () => await axe.run({target}, {{resultTypes: ['violations']}})")
        return result["violations"]

    return run


@pytest.fixture(scope="session")
def axe_serious(run_axe):
    """``axe_serious(page)``: the serious and critical violations, one readable line each."""

    def check(page, context: str | None = None) -> list[str]:
        return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["html"][:120] for n in v["nodes"][:3])
                for v in run_axe(page, context) if v.get("impact") in ("serious", "critical")]

    return check
