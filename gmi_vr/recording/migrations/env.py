"""Alembic environment: runs the migrations on the connection ``store.py`` hands in.

``SessionStore`` opens the database itself and passes its connection as
``config.attributes["connection"]``; a URL in ``sqlalchemy.url`` is the fallback so the
``alembic`` command can also be pointed at a store by hand.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from gmi_vr.recording.schema import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("set sqlalchemy.url (alembic -x or alembic.ini) to the store's database URL")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
