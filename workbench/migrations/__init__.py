"""Schema migrations (Alembic). ``upgrade(engine)`` brings any database to the newest schema.

To add a migration after changing ``workbench/store.py``::

    python -m workbench.migrations revision "what changed"

which autogenerates a new file in ``versions/``; read it, then commit it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent


def _config(engine: Engine | None = None, connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema. Safe when several processes start at once."""
    if engine.dialect.name != "sqlite" and current_revision(engine) == head_revision():
        return
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One migrator at a time; the others wait, then find nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(732104)"))
        command.upgrade(_config(connection=connection), "head")
        connection.commit()


def main(argv: list[str]) -> int:  # pragma: no cover - developer tool
    from sqlalchemy import create_engine

    if len(argv) >= 2 and argv[0] == "revision":
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            engine = create_engine(f"sqlite:///{tmp}/rev.db")
            with engine.connect() as connection:
                command.upgrade(_config(connection=connection), "head")
                connection.commit()
                command.revision(_config(connection=connection), message=argv[1], autogenerate=True)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
