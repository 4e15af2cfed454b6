"""The steps the schema revisions repeat: a table with its indexes, columns added to one table.

Each revision in ``versions/`` is history: stores were upgraded by it as it stands. These
helpers issue exactly the alembic operations the revisions once spelled out one by one (the
same order, names and options), so a change here changes every revision that calls it: add a
new helper rather than alter one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


def create_table(name: str, *parts: sa.schema.SchemaItem, indexed: Sequence[str] = ()) -> None:
    """Create table ``name`` from its columns and constraints, then one non-unique index on
    each column named in ``indexed``, in that order, named ``ix_<table>_<column>``."""
    op.create_table(name, *parts)
    if indexed:
        with op.batch_alter_table(name, schema=None) as batch_op:
            for column in indexed:
                batch_op.create_index(batch_op.f(f"ix_{name}_{column}"), [column], unique=False)


def drop_table(name: str, indexed: Sequence[str] = ()) -> None:
    """Undo ``create_table(name, ..., indexed=indexed)``: drop the indexes (last made first),
    then the table."""
    if indexed:
        with op.batch_alter_table(name, schema=None) as batch_op:
            for column in reversed(indexed):
                batch_op.drop_index(batch_op.f(f"ix_{name}_{column}"))
    op.drop_table(name)


def add_columns(table: str, *columns: sa.Column[object]) -> None:
    """Add ``columns`` to ``table``, in that order, in one batch."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """Drop the columns ``names`` from ``table``, in that order, in one batch."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name in names:
            batch_op.drop_column(name)
