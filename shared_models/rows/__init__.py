"""Typed database rows: asyncpg Records of a named class, each column a
read-only typed attribute.

A query whose rows travel (from the statement to the functions that use
them) is fetched with `record_class=` one of these classes, and asyncpg
builds its rows as instances of it: no copy and no Python code per row. Each
column is a property whose getter is operator.itemgetter (C code), so
`row.signup_id` costs about what `row["signup_id"]` does (13 ns more per read,
measured on this machine's Python 3.11; a Python-level property costs 60 ns
more). The send path reads thousands of rows per chunk, which is why rows
are not copied into dataclasses. Subscripting still works: the rules of
shared_models.signup_states read rows by key, as the API's dicts.

A class declares its columns in the order its query returns them:

    class TargetRow(Row):
        \"\"\"dispatcher.targets.CLAIM\"\"\"
        __slots__ = ()
        signup_id: uuid.UUID = column()
        batch: int = column()

Its docstring names the queries that produce it; tests/test_typed_rows.py
holds each such query to the class's `columns` (and finds every
`record_class=` in the dispatcher, so none goes unchecked). A subclass adds
columns after its base's (a row that is its base's row and more)."""
from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any, ClassVar

import asyncpg


class _Column:
    __slots__ = ()


_COLUMN = _Column()


def column() -> Any:
    """A column of a Row class, read-only, named by the attribute it is
    assigned to. Typed Any only so that the class's annotation (the column's
    type) is what readers and checkers see."""
    return _COLUMN


class Row(asyncpg.Record):
    """The base of typed rows: a Record (subscriptable, immutable) whose
    columns, in the query's order, are `columns`. Every subclass says
    `__slots__ = ()`: a Record has no __dict__, and rows stay as small.
    (A metaclass could add it, but asyncpg takes only plain classes.)"""

    __slots__ = ()
    columns: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "__slots__" not in cls.__dict__:
            raise TypeError(f"{cls.__name__}: a Row subclass declares __slots__ = ()")
        own = [key for key, value in cls.__dict__.items() if value is _COLUMN]
        for key in own:
            setattr(cls, key, property(operator.itemgetter(key), doc=f"The {key} column."))
        cls.columns = (*cls.columns, *own)


def select_list(columns: Iterable[str], alias: str = "") -> str:
    """Columns as a SELECT or RETURNING list (a row type's `columns`, in
    order), for a query that reads exactly what its type declares."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + name for name in columns)
