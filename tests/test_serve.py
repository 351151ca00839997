"""Who may open which app: secret links, roles, and the identity handed to the kernel."""

from __future__ import annotations

import types

import nbformat
import pytest
from tornado.web import HTTPError

from workbench.panel import add_judge
from workbench.serve import (
    COOKIE,
    FILE_DENYLIST,
    Identity,
    identify,
    issue_judge_token,
    issue_organiser_token,
    link,
    may_open,
    prelaunch_hook,
    voila_argv,
    voila_config,
)
from workbench.store import session_scope


class FakeHandler:
    """The parts of Voilà's request handler the hook uses."""

    def __init__(self, path: str, query: dict[str, str] | None = None, cookies: dict[str, str] | None = None):
        self.request = types.SimpleNamespace(path=path)
        self.query, self.cookies, self.set = query or {}, cookies or {}, {}

    def get_argument(self, name, default=None):
        return self.query.get(name, default)

    def get_cookie(self, name):
        return self.cookies.get(name)

    def set_cookie(self, name, value, **options):
        self.set[name] = (value, options)


@pytest.fixture
def tokens(sqlite_url, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", sqlite_url)
    with session_scope(sqlite_url) as s:
        judge = add_judge(s, name="Ada Judge", email="ada@panel.example")
        other = add_judge(s, name="Bo Judge", email="bo@panel.example")
        other.active = False
        return {"judge": issue_judge_token(s, judge=judge), "inactive": issue_judge_token(s, judge=other),
                "organiser": issue_organiser_token(s), "judge_id": judge.id}


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nfrom workbench.app.judge import judge_app"),
                nbformat.v4.new_code_cell("judge_app(os.environ)")]
    return nb


def test_a_judge_link_opens_the_judge_app_with_the_identity_set_by_the_server(tokens):
    handler = FakeHandler("/voila/render/judge.ipynb", query={"key": tokens["judge"]})
    original = _notebook()
    result = prelaunch_hook(handler, original, "/srv/notebooks")
    namespace: dict = {}
    fake_os = types.SimpleNamespace(environ={})
    exec(result.cells[0].source.replace("import os as _workbench_os", "_workbench_os = fake_os"),
         {"fake_os": fake_os}, namespace)
    assert fake_os.environ == {"WORKBENCH_ROLE": "judge", "WORKBENCH_JUDGE_ID": str(tokens["judge_id"])}
    assert result.cells[0].metadata["tags"] == ["workbench-identity"]
    assert [c.source for c in result.cells[1:]] == [c.source for c in original.cells]
    assert len(original.cells) == 2  # the cached notebook is not changed
    assert handler.set[COOKIE] == (tokens["judge"], {"httponly": True, "samesite": "Strict", "path": "/"})


def test_the_cookie_from_an_earlier_visit_is_accepted_but_never_a_wrong_key(tokens):
    ok = FakeHandler("/voila/render/judge.ipynb", cookies={COOKIE: tokens["judge"]})
    assert "WORKBENCH_JUDGE_ID" in prelaunch_hook(ok, _notebook(), "/").cells[0].source
    assert ok.set == {}
    wrong = FakeHandler("/voila/render/judge.ipynb", query={"key": "guess"}, cookies={COOKIE: tokens["judge"]})
    with pytest.raises(HTTPError) as refused:
        prelaunch_hook(wrong, _notebook(), "/")
    assert refused.value.status_code == 403


@pytest.mark.parametrize(("path", "who"), [
    ("/voila/render/judge.ipynb", None),
    ("/voila/render/judge.ipynb", "made-up"),
    ("/voila/render/judge.ipynb", "inactive"),
    ("/voila/render/judge.ipynb", "organiser"),
    ("/voila/render/moderate.ipynb", "judge"),
    ("/voila/render/overview.ipynb", "judge"),
    ("/voila/render/private/judge.ipynb", "judge"),
    ("/voila/render/..%2Fjudge.ipynb", "judge"),
])
def test_everything_else_is_refused_with_403(tokens, path, who):
    key = tokens.get(who, who)
    handler = FakeHandler(path, query={"key": key} if key else {})
    with pytest.raises(HTTPError) as refused:
        prelaunch_hook(handler, _notebook(), "/")
    assert refused.value.status_code == 403
    assert handler.set == {}


def test_organiser_links_open_the_other_apps_and_a_new_one_revokes_the_old(sqlite_url, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", sqlite_url)
    with session_scope(sqlite_url) as s:
        first = issue_organiser_token(s)
        assert identify(s, first) == Identity("organiser", None, "organiser")
        second = issue_organiser_token(s)
        assert (identify(s, first), identify(s, second)) == (None, Identity("organiser", None, "organiser"))
    source = prelaunch_hook(FakeHandler("/voila/render/shortlist.ipynb", query={"key": second}), _notebook(),
                            "/").cells[0].source
    assert "'WORKBENCH_ROLE'] = 'organiser'" in source and "'WORKBENCH_JUDGE_ID'] = ''" in source


def test_role_table():
    judge, organiser = Identity("judge", 1), Identity("organiser")
    assert [may_open(judge, n) for n in ("judge.ipynb", "unit_marking.ipynb", "import.ipynb", "agreement.ipynb")] == [
        True, True, False, False]
    assert [may_open(organiser, n) for n in ("judge.ipynb", "overview.ipynb", "moderate.ipynb", "shortlist.ipynb",
                                             "unit_marking.ipynb")] == [False, True, True, True, True]
    assert may_open(None, "overview.ipynb") is False


def test_safe_voila_defaults_are_explicit(tmp_path):
    config = voila_config()
    assert config.VoilaConfiguration.show_tracebacks is False
    assert config.VoilaConfiguration.strip_sources is True
    assert config.VoilaConfiguration.prelaunch_hook is prelaunch_hook
    assert FILE_DENYLIST[0].startswith(r".*\.(ipynb|py|")
    assert voila_argv(notebook_dir=tmp_path, port=9001) == [str(tmp_path), "--no-browser", "--port=9001",
                                                            "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"]
    assert link("http://127.0.0.1:8866/", "judge.ipynb", "a b") == (
        "http://127.0.0.1:8866/voila/render/judge.ipynb?key=a+b")
