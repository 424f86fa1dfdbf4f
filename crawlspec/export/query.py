"""What `crawlspec export` reads: the exportable tables and their column kinds, the streaming SELECT with
its `--tag` / `--spec` filters, and the list columns (`hashtag_names`, `effect_ids`, `crawl_tags`)
loaded per batch of rows: one query per list column and batch, never one per row.

Rows stream in id order, so each batch covers an id range [lo, hi] disjoint from the others; a list
query reads the link rows of that range that pass the same filters. Over a whole export, each link row
is read at most once, however selective the filters are, and the statement has two parameters
(a long `IN (...)` list would cost more to compile than to run)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from crawlspec.errors import DatabaseLocationError, SpecError
from crawlspec.storage import models

# The kinds a writer has to know about; each maps to one parquet type (see export_formats).
INT, BOOL, TEXT, TIMESTAMP, DATE, JSON, LIST = "int", "bool", "text", "timestamp", "date", "json", "list"

# Tables whose rows can be narrowed by --tag / --spec (the others are exported whole).
FILTERABLE_TABLES: tuple[str, ...] = ("video", "comment", "user_info", "crawl")


@dataclass(frozen=True)
class ExportColumn:
    name: str
    kind: str


@dataclass(frozen=True)
class ListColumn:
    """Names reached from an owner row through a link table, e.g. video -> videos_to_hashtags -> hashtag."""

    name: str
    link: sa.Table
    owner_key: str
    item_key: str
    items: sa.Table
    item_name: str


@dataclass(frozen=True)
class ExportPlan:
    table: str
    statement: sa.Select[Any]
    columns: tuple[ExportColumn, ...]
    """Output columns: the scalar columns in SELECT order, then the list columns."""
    list_statements: tuple[sa.Select[Any], ...]
    """Per list column: (owner id, name) rows for owner ids in [:lo, :hi] passing the filters."""
    owner_index: int
    """Position of the id that the list columns hang off, in each selected row."""


def _table(name: str) -> sa.Table:
    return models.Base.metadata.tables[name]


def _list_columns(table: str) -> tuple[ListColumn, ...]:
    hashtag, effect, crawl_tag = _table("hashtag"), _table("effect"), _table("crawl_tag")
    if table == "video":
        return (
            ListColumn("hashtag_names", models.videos_to_hashtags, "video_id", "hashtag_id", hashtag, "name"),
            ListColumn("effect_ids", models.videos_to_effect_ids, "video_id", "effect_id", effect, "effect_id"),
            ListColumn("crawl_tags", models.videos_to_crawl_tags, "video_id", "crawl_tag_id", crawl_tag, "name"),
        )
    if table == "crawl":
        return (ListColumn("crawl_tags", models.crawls_to_crawl_tags, "crawl_id", "crawl_tag_id", crawl_tag,
                           "name"),)
    return ()


def known_tables() -> list[str]:
    return sorted(models.Base.metadata.tables)


def column_kind(column: sa.Column[Any]) -> str:
    col_type = column.type
    if isinstance(col_type, sa.types.TypeDecorator):
        col_type = col_type.impl_instance
    if isinstance(col_type, sa.Boolean):
        return BOOL
    if isinstance(col_type, sa.Integer):
        return INT
    if isinstance(col_type, sa.DateTime):
        return TIMESTAMP
    if isinstance(col_type, sa.Date):
        return DATE
    if isinstance(col_type, sa.JSON):
        return JSON
    return TEXT


def check_table_name(table: str) -> None:
    if table not in models.Base.metadata.tables:
        raise SpecError(f"unknown table {table!r}; known tables: {', '.join(known_tables())}")


def check_filters(table: str, *, tag: str | None, spec: str | None) -> None:
    if (tag is not None or spec is not None) and table not in FILTERABLE_TABLES:
        raise SpecError(f"--tag and --spec apply to the tables {', '.join(FILTERABLE_TABLES)}, not {table!r}; "
                        "export the whole table without them")


def plan_export(conn: Connection, table_name: str, *, tag: str | None = None,
                spec: str | None = None) -> ExportPlan:
    """The SELECT (ordered by primary key) and output columns of one export."""
    check_table_name(table_name)
    check_filters(table_name, tag=tag, spec=spec)
    table = _table(table_name)
    present = _columns_in_database(conn, table_name)
    selected = [col for col in table.columns if col.name in present]
    # JSON is read as its text: csv and parquet write it as is, jsonl parses it once.
    select_list = [sa.cast(col, sa.Text).label(col.name) if column_kind(col) == JSON else col for col in selected]
    statement = sa.select(*select_list).order_by(*table.primary_key.columns)
    conditions = _filter_conditions(table_name, tag=tag, spec=spec)
    if conditions:
        statement = statement.where(*conditions)
    lists = _list_columns(table_name)
    columns = tuple(ExportColumn(col.name, column_kind(col)) for col in selected)
    columns += tuple(ExportColumn(lst.name, LIST) for lst in lists)
    owner_index = [col.name for col in selected].index("id") if lists else -1
    list_statements = tuple(_list_statement(lst, table_name, tag=tag, spec=spec) for lst in lists)
    return ExportPlan(table_name, statement, columns, list_statements, owner_index)


def _columns_in_database(conn: Connection, table_name: str) -> set[str]:
    inspector = sa.inspect(conn)
    if not inspector.has_table(table_name):
        url = conn.engine.url.render_as_string(hide_password=True)
        raise DatabaseLocationError(
            f"{url} is not a crawlspec database (it has no table {table_name!r}); point --db at the database "
            "`crawlspec run` writes to, or run `crawlspec db upgrade` on it first")
    return {col["name"] for col in inspector.get_columns(table_name)}


def _video_conditions(video_id: ColumnElement[Any], *, tag: str | None,
                      spec: str | None) -> list[ColumnElement[bool]]:
    """Conditions on a video id: carries crawl tag `tag`, was found by a crawl of spec `spec`.

    Aliases throughout: the enclosing query may read the same tables (the `crawl_tags` list column)."""
    conditions: list[ColumnElement[bool]] = []
    if tag is not None:
        link, crawl_tag = models.videos_to_crawl_tags.alias("tag_filter_link"), _table("crawl_tag").alias("tag_filter")
        conditions.append(sa.exists().where(link.c.video_id == video_id, link.c.crawl_tag_id == crawl_tag.c.id,
                                            crawl_tag.c.name == tag))
    if spec is not None:
        link, crawl = models.videos_to_crawls.alias("spec_filter_link"), _table("crawl").alias("spec_filter")
        conditions.append(sa.exists().where(link.c.video_id == video_id, link.c.crawl_id == crawl.c.id,
                                            crawl.c.spec_name == spec))
    return conditions


def _crawl_conditions(crawl_id: ColumnElement[Any], *, tag: str | None,
                      spec: str | None) -> list[ColumnElement[bool]]:
    """Conditions on a crawl id: the crawl carries tag `tag`, ran spec `spec`."""
    conditions: list[ColumnElement[bool]] = []
    if tag is not None:
        link, crawl_tag = models.crawls_to_crawl_tags.alias("tag_filter_link"), _table("crawl_tag").alias("tag_filter")
        conditions.append(sa.exists().where(link.c.crawl_id == crawl_id, link.c.crawl_tag_id == crawl_tag.c.id,
                                            crawl_tag.c.name == tag))
    if spec is not None:
        crawl = _table("crawl").alias("spec_filter")
        conditions.append(sa.exists().where(crawl.c.id == crawl_id, crawl.c.spec_name == spec))
    return conditions


def _filter_conditions(table_name: str, *, tag: str | None, spec: str | None) -> list[ColumnElement[bool]]:
    if tag is None and spec is None:
        return []
    if table_name == "video":
        return _video_conditions(_table("video").c.id, tag=tag, spec=spec)
    if table_name == "comment":
        return _video_conditions(_table("comment").c.video_id, tag=tag, spec=spec)
    if table_name == "user_info":
        # The creators of the selected videos.
        video = _table("video").alias("creator_video")
        return [sa.exists().where(video.c.username == _table("user_info").c.username,
                                  *_video_conditions(video.c.id, tag=tag, spec=spec))]
    return _crawl_conditions(_table("crawl").c.id, tag=tag, spec=spec)


def _list_statement(column: ListColumn, owner_table: str, *, tag: str | None,
                    spec: str | None) -> sa.Select[Any]:
    link, items = column.link, column.items
    owner = link.c[column.owner_key]
    conditions = (_video_conditions if owner_table == "video" else _crawl_conditions)(owner, tag=tag, spec=spec)
    return (sa.select(owner, items.c[column.item_name])
            .join(items, items.c.id == link.c[column.item_key])
            .where(owner.between(sa.bindparam("lo"), sa.bindparam("hi")), *conditions))


def plan_rows(conn: Connection, plan: ExportPlan) -> list[tuple[Any, ...]]:
    """Every row of the plan's statement, in its order."""
    return [tuple(row) for row in conn.execute(plan.statement)]


def load_lists(conn: Connection, statement: sa.Select[Any], lo: int, hi: int) -> dict[int, list[str]]:
    """owner id -> sorted names, for the owners with ids in [lo, hi] (one query)."""
    found: defaultdict[int, list[str]] = defaultdict(list)
    for owner, name in conn.execute(statement, {"lo": lo, "hi": hi}).all():
        found[owner].append(name)
    for names in found.values():
        names.sort()
    return found


def refuse_unknown_filters(conn: Connection, *, tag: str | None, spec: str | None) -> None:
    """A --tag / --spec naming nothing in the database is refused (exit 2), not exported as an empty file:
    a typo in a nightly export script would otherwise go unnoticed night after night."""
    if tag is not None and tag not in (known := _distinct(conn, _table("crawl_tag").c.name)):
        raise SpecError(f"--tag {tag}: no crawl tag named {tag!r} in the database (known: {_sample(known)}); "
                        "nothing was written")
    if spec is not None and spec not in (known := _distinct(conn, _table("crawl").c.spec_name)):
        raise SpecError(f"--spec {spec}: no crawl of a spec named {spec!r} in the database (known: "
                        f"{_sample(known)}); nothing was written")


def _distinct(conn: Connection, column: sa.Column[Any]) -> list[str]:
    return [value for value in conn.execute(sa.select(column).distinct().order_by(column)).scalars()
            if value is not None]


def _sample(names: list[str], limit: int = 20) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
