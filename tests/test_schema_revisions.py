"""The schema revisions on a real SQLite file: each one undone gives back exactly the schema
that stood before it, and redone gives back the schema it made (tables, columns, indexes,
keys), so a store can step down to an older gmi-vr's revision and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect

from gmi_vr.recording.store import _alembic_config

Schema = dict[str, tuple[object, ...]]


def schema_of(conn: Connection) -> Schema:
    """Every table but alembic's own, as its columns (name, type, nullable, default), primary
    key, indexes and foreign keys; sorted where the order is SQLite's choice, not the schema's
    (a batch operation copies a table and may list its keys in another order)."""
    found = inspect(conn)
    return {
        table: (
            tuple((c["name"], str(c["type"]), c["nullable"], c["default"]) for c in found.get_columns(table)),
            tuple(found.get_pk_constraint(table)["constrained_columns"]),
            tuple(sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(table))),
            tuple(sorted((tuple(k["constrained_columns"]), k["referred_table"], tuple(k["referred_columns"]))
                         for k in found.get_foreign_keys(table))),  # fmt: skip
        )
        for table in sorted(found.get_table_names())
        if table != "alembic_version"
    }


def test_each_revision_undone_and_redone_gives_back_the_schema_on_either_side(tmp_path: Path) -> None:
    config = _alembic_config()
    revisions = [script.revision for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]
    assert revisions[0] == "0001" and len(revisions) >= 7
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        made = {"base": schema_of(conn)}
        for revision in revisions:
            command.upgrade(config, revision)
            made[revision] = schema_of(conn)
        assert made["base"] == {} and len(made[revisions[-1]]) >= 15
        for below, revision in reversed(list(zip(["base", *revisions], revisions, strict=False))):
            command.downgrade(config, below)
            assert schema_of(conn) == made[below], f"undoing {revision}"
        command.upgrade(config, "head")
        assert schema_of(conn) == made[revisions[-1]]
    engine.dispose()
