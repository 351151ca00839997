"""Shared fixtures. ``db_url`` runs a test on SQLite and on a real PostgreSQL server.

PostgreSQL comes from ``WORKBENCH_TEST_PG_URL`` (``.ci/run`` starts one with
``.ci/start-postgres``). Under CI the PostgreSQL runs are required, never skipped.
"""

from __future__ import annotations

import os
import uuid
import warnings

import pytest
import sqlalchemy as sa

from workbench.rubric import load_rubric
from workbench.store import dispose_engines

PG_URL = os.environ.get("WORKBENCH_TEST_PG_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """No test touches the real home directory, Jupyter config or default database."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(name, str(home / name.lower()))
    monkeypatch.setenv("WORKBENCH_DB", str(home / "default.db"))
    yield
    dispose_engines()


@pytest.fixture(params=["fastexcel", "calamine"])
def excel_lane(request, monkeypatch):
    """Plain Excel sheets loaded by columns (fastexcel), then every sheet read cell by cell
    (python-calamine): the intake tests run both ways and must pass both ways."""
    if request.param == "calamine":
        monkeypatch.setattr("workbench.intake.reading.COLUMNAR", False)
    return request.param


def _fresh_pg_database() -> str:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"wb_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except sa.exc.DBAPIError as exc:  # a leftover scratch database is not a test failure
        warnings.warn(f"could not drop test database {name}: {exc.orig}", stacklevel=1)
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database URL: an SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not PG_URL:
        if IN_CI:
            pytest.fail("WORKBENCH_TEST_PG_URL is not set; .ci/run must start PostgreSQL.")
        pytest.skip("PostgreSQL not available: set WORKBENCH_TEST_PG_URL (see .ci/start-postgres)")
    url = _fresh_pg_database()
    yield url
    dispose_engines()
    _drop_pg_database(url)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def inclusive_leader():
    return load_rubric("inclusive-leader")
