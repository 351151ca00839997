"""Serve the apps in ``notebooks/`` with Voilà, and decide who may open which app.

Identity never comes from the page. Each judge has a personal secret link
``http://HOST:PORT/voila/render/judge.ipynb?key=SECRET``; organisers have their own link
(``workbench links`` prints both). Only the SHA-256 of a secret is stored (``Judge.token_hash``,
:class:`~workbench.store.AccessToken`). Before Voilà starts a kernel, :func:`prelaunch_hook`:

1. reads the secret from the ``key`` query parameter or, failing that, the ``workbench_key``
   cookie it set earlier (HttpOnly, SameSite=Strict);
2. looks it up; an unknown or revoked secret gets **403**;
3. checks the role against the notebook (:data:`NOTEBOOK_ROLES`): a judge's link opens only
   ``judge.ipynb`` (and ``unit_marking.ipynb``, where judges act as assessors); an organiser's
   opens the other apps. Anything else gets **403**;
4. passes the identity to the kernel by prepending one hidden cell that sets
   ``WORKBENCH_ROLE`` and ``WORKBENCH_JUDGE_ID`` in the kernel's environment. The page cannot
   change it: Voilà does not accept code from the browser (only widget messages), and the
   notebook never reads ``QUERY_STRING``.

Voilà's safe defaults are kept explicit: no tracebacks, sources stripped, notebooks, Python,
databases and spreadsheets never served as files, listening on 127.0.0.1 only unless ``--ip``.
"""

from __future__ import annotations

import copy
import hashlib
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.judging import JUDGE_ENV, ROLE_ENV, ROUND_ENV
from workbench.store import AccessToken, Judge, database_url, describe_url, session_scope, utcnow

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
KEY_PARAM = "key"
COOKIE = "workbench_key"
JUDGE, ORGANISER = "judge", "organiser"

#: Which roles may open which notebook; a notebook not listed is open to organisers only.
NOTEBOOK_ROLES: dict[str, frozenset[str]] = {
    "judge.ipynb": frozenset({JUDGE}),
    "unit_marking.ipynb": frozenset({JUDGE, ORGANISER}),
}
DEFAULT_ROLES = frozenset({ORGANISER})

#: Never served as static files from the notebooks folder.
FILE_DENYLIST = [r".*\.(ipynb|py|pyc|db|sqlite|sqlite3|db-wal|db-shm|csv|xlsx|xlsm|json|yaml|yml|env|cfg|ini)",
                 r"(^|.*/)\..*"]
FILE_ALLOWLIST = [r".*\.(png|jpg|gif|svg|css)"]


@dataclass(frozen=True)
class Identity:
    role: str
    judge_id: int | None = None
    label: str = ""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def link(base_url: str, notebook: str, token: str) -> str:
    """``http://127.0.0.1:8866/voila/render/judge.ipynb?key=...``"""
    return f"{base_url.rstrip('/')}/voila/render/{notebook}?{urlencode({KEY_PARAM: token})}"


def issue_judge_token(session: Session, *, judge: Judge) -> str:
    """A new secret for the judge's link; the previous link stops working. Returns the secret."""
    token = new_token()
    judge.token_hash = token_hash(token)
    session.flush()
    return token


def issue_organiser_token(session: Session, *, label: str = "organiser") -> str:
    """A new organiser secret; earlier organiser links with the same label are revoked."""
    now = utcnow()
    for old in session.scalars(select(AccessToken).where(AccessToken.role == ORGANISER, AccessToken.label == label,
                                                         AccessToken.revoked_at.is_(None))):
        old.revoked_at = now
    token = new_token()
    session.add(AccessToken(role=ORGANISER, label=label, token_hash=token_hash(token), created_at=now))
    session.flush()
    return token


def identify(session: Session, token: str | None) -> Identity | None:
    """Who holds this secret: an active judge, an organiser, or nobody (``None``)."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    judge = session.scalar(select(Judge).where(Judge.token_hash == digest, Judge.active.is_(True)))
    if judge is not None:
        return Identity(JUDGE, judge.id, judge.email)
    access = session.scalar(select(AccessToken).where(AccessToken.token_hash == digest,
                                                      AccessToken.revoked_at.is_(None)))
    if access is not None:
        return Identity(access.role, None, access.label)
    return None


def may_open(identity: Identity | None, notebook: str) -> bool:
    """Whether this identity may open the notebook (by file name).

    >>> may_open(Identity("judge", 3), "judge.ipynb"), may_open(Identity("judge", 3), "moderate.ipynb")
    (True, False)
    >>> may_open(Identity("organiser"), "shortlist.ipynb"), may_open(Identity("organiser"), "judge.ipynb")
    (True, False)
    """
    if identity is None:
        return False
    return identity.role in NOTEBOOK_ROLES.get(notebook, DEFAULT_ROLES)


def identity_cell_source(identity: Identity) -> str:
    lines = ["import os as _workbench_os",
             f"_workbench_os.environ[{ROLE_ENV!r}] = {identity.role!r}",
             f"_workbench_os.environ[{JUDGE_ENV!r}] = {str(identity.judge_id or '')!r}",
             "del _workbench_os"]
    return "\n".join(lines)


def _requested_notebook(path: str) -> str | None:
    """``/voila/render/judge.ipynb`` -> ``judge.ipynb``; anything in a sub-folder -> None."""
    path = unquote(path)
    marker = "/voila/render/"
    if marker not in path:
        return None
    name = path.split(marker, 1)[1]
    if "/" in name or "\\" in name or not name.endswith(".ipynb"):
        return None
    return name


def prelaunch_hook(req, notebook, cwd):
    """Voilà's prelaunch hook: check the secret and the role, then pass the identity to the kernel."""
    import nbformat
    from tornado.web import HTTPError

    name = _requested_notebook(req.request.path)
    from_query = req.get_argument(KEY_PARAM, None)
    token = from_query if from_query is not None else req.get_cookie(COOKIE)
    with session_scope(os.environ.get("WORKBENCH_DB")) as session:
        identity = identify(session, token)
    if identity is None:
        raise HTTPError(403, reason="Open this page from your personal link (the link is unknown or has expired)")
    if name is None or not may_open(identity, name):
        raise HTTPError(403, reason="Your link does not open this page")
    if from_query is not None:
        req.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
    notebook = copy.deepcopy(notebook)
    cell = nbformat.v4.new_code_cell(source=identity_cell_source(identity))
    cell.metadata["tags"] = ["workbench-identity"]
    notebook.cells.insert(0, cell)
    return notebook


def voila_argv(*, notebook_dir: Path, port: int, ip: str = "127.0.0.1") -> list[str]:
    return [str(notebook_dir), "--no-browser", f"--port={port}", f"--Voila.ip={ip}", "--Voila.port_retries=0"]


def voila_config():
    """The Voilà settings, safe defaults explicit."""
    from traitlets.config import Config

    config = Config()
    config.VoilaConfiguration.prelaunch_hook = prelaunch_hook
    config.VoilaConfiguration.show_tracebacks = False
    config.VoilaConfiguration.strip_sources = True
    config.VoilaConfiguration.file_allowlist = FILE_ALLOWLIST
    config.VoilaConfiguration.file_denylist = FILE_DENYLIST
    config.Voila.open_browser = False
    return config


def serve(*, url: str | None = None, port: int = 8866, notebook_dir: str | Path | None = None,
          round_name: str | None = None, ip: str = "127.0.0.1") -> int:
    """Run Voilà on the notebooks until interrupted (Ctrl+C). Returns the exit code."""
    from voila.app import Voila

    url = database_url(url)
    notebook_dir = Path(notebook_dir or NOTEBOOK_DIR).resolve()
    os.environ["WORKBENCH_DB"] = url
    for name in (JUDGE_ENV, ROLE_ENV):  # identity only ever comes from the prelaunch hook
        os.environ.pop(name, None)
    if round_name:
        os.environ[ROUND_ENV] = round_name
    # Kernels import the same workbench code as this server, wherever it was installed from.
    root = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join([root, *[p for p in [os.environ.get("PYTHONPATH", "")] if p]])
    with session_scope(url):  # create or upgrade the schema before the first page
        pass
    print(f"Serving the apps in {notebook_dir} from {describe_url(url)} at http://{ip}:{port}/ "
          "(open them with the links from `workbench links`; Ctrl+C stops).", file=sys.stderr)
    Voila.launch_instance(argv=voila_argv(notebook_dir=notebook_dir, port=port, ip=ip), config=voila_config())
    return 0
