"""Video-spec fingerprints no longer include the fetch flags: coverage and checkpoints move to the new ones

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Why: the fingerprint of a video spec used to be the sha256 of `{query, fetch, fields}`, so switching on
`fetch.comments` or `fetch.user_info` for a spec that had already run gave it a new fingerprint and
re-crawled every video window. It is now the sha256 of `{query, fields}`; the stages keep their own
progress. This revision recomputes, from each `crawl_spec` row, the old fingerprint (only rows whose
stored fingerprint equals it are touched: users specs and anything not recognised keep theirs) and the
new one, and moves every row that carries a fingerprint to the new value. Several old fingerprints (the
same query and fields with different flags) merge into one:
- `covered_day`: the union of the days;
- `crawl_window`: per (start, end), the most advanced checkpoint (done first, then the most pages);
- `failing_day`: per day, the most recent failure; `failure_spend`: per day, the sum of the requests;
- `crawl_spec`: the oldest row; `crawl` (provenance): every row, relabelled;
- any other table with a `fingerprint` column: relabelled, one row kept per key when they collide.
Self-contained: the fingerprint code is written out here and tables are found by reflection. Downgrading
keeps the new fingerprints (which old flags a row came from is not recorded any more).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_RANK = {"done": 3, "in_progress": 2, "pending": 1, "failed": 0}


def _sha256_of(document: Mapping[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def fingerprint_moves(conn: Connection) -> dict[str, str]:
    """old fingerprint -> new fingerprint, for every recognisable video spec of `crawl_spec`."""
    moves: dict[str, str] = {}
    specs = sa.Table("crawl_spec", sa.MetaData(), autoload_with=conn)
    for row in conn.execute(sa.select(specs.c.fingerprint, specs.c.query, specs.c.fields, specs.c.fetch)):
        query, fields, fetch = _json(row.query), _json(row.fields), _json(row.fetch)
        if not isinstance(query, dict) or not isinstance(fields, list) or not isinstance(fetch, dict):
            continue
        if _sha256_of({"query": query, "fetch": fetch, "fields": fields}) != row.fingerprint:
            continue
        new = _sha256_of({"query": query, "fields": fields})
        if new != row.fingerprint:
            moves[row.fingerprint] = new
    return moves


def _key_columns(inspector: Any, table: str) -> list[str] | None:
    """The other columns of the primary key or unique constraint that holds `fingerprint` ([]: the
    fingerprint alone is the key), or None when no key holds it (rows are simply relabelled)."""
    keys = [inspector.get_pk_constraint(table).get("constrained_columns") or []]
    keys += [unique["column_names"] for unique in inspector.get_unique_constraints(table)]
    keys += [index["column_names"] for index in inspector.get_indexes(table) if index.get("unique")]
    for columns in keys:
        if "fingerprint" in columns:
            return [name for name in columns if name != "fingerprint"]
    return None


def _best_window(rows: list[Any]) -> Any:
    return max(rows, key=lambda row: (STATUS_RANK.get(row.status, -1), row.pages or 0, -(row.id or 0)))


def _latest_failure(rows: list[Any]) -> Any:
    return max(rows, key=lambda row: (row.last_failed_at is not None, row.last_failed_at or 0))


def _oldest(rows: list[Any]) -> Any:
    return min(rows, key=lambda row: (row.created_at is None, row.created_at or 0))


CHOOSERS: dict[str, Callable[[list[Any]], Any]] = {
    "crawl_window": _best_window, "failing_day": _latest_failure, "crawl_spec": _oldest,
}


def _merge_table(conn: Connection, table: sa.Table, keys: list[str], new: str, olds: Iterable[str]) -> None:
    """Give the rows of `olds` the fingerprint `new`, keeping one row per key (see the module doc)."""
    fingerprints = [new, *olds]
    rows = conn.execute(sa.select(table).where(table.c.fingerprint.in_(fingerprints))).all()
    groups: dict[tuple, list[Any]] = {}
    for row in rows:
        groups.setdefault(tuple(getattr(row, name) for name in keys), []).append(row)
    choose = CHOOSERS.get(table.name, lambda candidates: candidates[0])
    for key, candidates in groups.items():
        winner = choose(candidates)
        where = [table.c[name] == value for name, value in zip(keys, key, strict=True)]
        extra: dict[str, Any] = {}
        if table.name == "failure_spend":
            extra["requests"] = sum(row.requests or 0 for row in candidates)
        conn.execute(sa.delete(table).where(*where, table.c.fingerprint.in_(fingerprints),
                                            table.c.fingerprint != winner.fingerprint))
        conn.execute(sa.update(table).where(*where, table.c.fingerprint == winner.fingerprint)
                     .values(fingerprint=new, **extra))


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table("crawl_spec"):
        return
    moves = fingerprint_moves(bind)
    if not moves:
        return
    merged: dict[str, list[str]] = {}
    for old, new in moves.items():
        merged.setdefault(new, []).append(old)
    metadata = sa.MetaData()
    for name in inspector.get_table_names():
        if "fingerprint" not in {column["name"] for column in inspector.get_columns(name)}:
            continue
        table = sa.Table(name, metadata, autoload_with=bind)
        keys = _key_columns(inspector, name)
        for new, olds in merged.items():
            if keys is None:
                bind.execute(sa.update(table).where(table.c.fingerprint.in_(olds)).values(fingerprint=new))
            else:
                _merge_table(bind, table, keys, new, olds)


def downgrade() -> None:
    """Nothing to undo: the old fingerprints cannot be told apart any more (see the module doc)."""
