"""Database side of `crawlspec refresh`: the refresh run and its validation tasks (so a killed refresh
continues where it stopped), and the deletion of rows the API no longer serves together with every row
that refers to them. None of these functions commits; the caller's transaction decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.client.compliance import MAX_IDS_PER_TASK, id_file
from crawlspec.storage.bulk import chunked, dialect_insert
from crawlspec.storage.models import Base, ComplianceTask, RefreshRun, TableRefresh, table_of

RUN = table_of(RefreshRun)
TASK = table_of(ComplianceTask)
TABLE_REFRESH = table_of(TableRefresh)
TABLE_OF = {"video": "video", "comment": "comment"}
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class TaskState:
    id: int
    category: str
    seq: int
    status: str
    api_task_id: str | None
    ids_text: str
    ids_count: int

    def ids(self) -> list[int]:
        return [int(token) for token in self.ids_text.split()]


def _task(row: sa.Row[Any]) -> TaskState:
    return TaskState(row.id, row.category, row.seq, row.status, row.api_task_id, row.ids_text, row.ids_count)


# --- runs and tasks ----------------------------------------------------------------------------------

def open_run(conn: Connection, now: datetime, *, task_size: int | None = None) -> tuple[int, bool]:
    """The unfinished refresh to continue, or a new one with its video tasks; (run id, created)."""
    running = conn.execute(sa.select(RUN.c.id).where(RUN.c.status == "running").order_by(RUN.c.id)).scalar()
    if running is not None:
        return int(running), False
    run_id = conn.execute(sa.insert(RUN).values(
        status="running", started_at=now, videos_checked=0, videos_removed=0, comments_checked=0,
        comments_removed=0, requests=0).returning(RUN.c.id)).scalar_one()
    snapshot_tasks(conn, run_id, "video", now, task_size=task_size)
    return int(run_id), True


def snapshot_tasks(conn: Connection, run_id: int, category: str, now: datetime, *,
                   task_size: int | None = None) -> int:
    """One pending task per 10,000 stored ids of `category` (ids in ascending order); returns tasks made."""
    table = Base.metadata.tables[TABLE_OF[category]]
    ids = list(conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())
    rows = [{"refresh_id": run_id, "category": category, "seq": seq, "status": "pending", "api_task_id": None,
             "ids_count": len(part), "ids_text": id_file(list(part)), "submissions": 0, "polls": 0,
             "updated_at": now}
            for seq, part in enumerate(chunked(ids, min(task_size or MAX_IDS_PER_TASK, MAX_IDS_PER_TASK)))]
    if rows:
        conn.execute(sa.insert(TASK), rows)
    return len(rows)


def tasks(conn: Connection, run_id: int, category: str) -> list[TaskState]:
    rows = conn.execute(sa.select(TASK).where(TASK.c.refresh_id == run_id, TASK.c.category == category)
                        .order_by(TASK.c.seq))
    return [_task(row) for row in rows]


def retry_failed_tasks(conn: Connection, run_id: int, now: datetime) -> int:
    """Tasks the API reported `Failed` (on an earlier call) are submitted again, never taken as 'all invalid'."""
    result = conn.execute(sa.update(TASK).where(TASK.c.refresh_id == run_id, TASK.c.status == "failed")
                          .values(status="pending", api_task_id=None, updated_at=now))
    return result.rowcount or 0


def mark_submitted(conn: Connection, task: TaskState, api_task_id: str, now: datetime) -> TaskState:
    conn.execute(sa.update(TASK).where(TASK.c.id == task.id).values(
        status="submitted", api_task_id=api_task_id, submissions=TASK.c.submissions + 1, polls=0,
        last_error=None, updated_at=now))
    return TaskState(task.id, task.category, task.seq, "submitted", api_task_id, task.ids_text, task.ids_count)


def count_poll(conn: Connection, task: TaskState, now: datetime) -> None:
    conn.execute(sa.update(TASK).where(TASK.c.id == task.id).values(polls=TASK.c.polls + 1, updated_at=now))


def mark_failed(conn: Connection, task: TaskState, error: str, now: datetime) -> None:
    conn.execute(sa.update(TASK).where(TASK.c.id == task.id).values(
        status="failed", last_error=error[:MAX_ERROR_CHARS], updated_at=now))


def resubmit(conn: Connection, task: TaskState, error: str, now: datetime) -> None:
    """The API no longer knows the stored task id: upload the same ids again next time."""
    conn.execute(sa.update(TASK).where(TASK.c.id == task.id).values(
        status="pending", api_task_id=None, last_error=error[:MAX_ERROR_CHARS], updated_at=now))


def complete_task(conn: Connection, run_id: int, task: TaskState, valid: set[int], now: datetime) -> int:
    """Delete the task's ids that are no longer valid (with every row referring to them) and mark the task
    done, in the caller's one transaction; returns rows removed from the task's table."""
    sent = task.ids()
    invalid = [item for item in sent if item not in valid]
    removed_comments = 0
    if task.category == "video":
        removed, removed_comments = remove_videos(conn, invalid)
    else:
        settle_reply_listings(conn, invalid, now=now)
        removed = remove_comments(conn, invalid)
    conn.execute(sa.update(TASK).where(TASK.c.id == task.id).values(
        status="done", valid_count=len(sent) - len(invalid), removed=removed, updated_at=now))
    if task.category == "video":   # a video's comments go with it: they count as removed comments
        values = {RUN.c.videos_checked: RUN.c.videos_checked + len(sent),
                  RUN.c.videos_removed: RUN.c.videos_removed + removed,
                  RUN.c.comments_removed: RUN.c.comments_removed + removed_comments}
    else:
        values = {RUN.c.comments_checked: RUN.c.comments_checked + len(sent),
                  RUN.c.comments_removed: RUN.c.comments_removed + removed}
    conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(values))
    return removed


def add_requests(conn: Connection, run_id: int, requests: int) -> None:
    if requests:
        conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(requests=RUN.c.requests + requests))


def finish_run(conn: Connection, run_id: int, now: datetime) -> dict[str, int]:
    """Mark the refresh complete and record, per table, when it was refreshed and what it removed."""
    run = conn.execute(sa.select(RUN).where(RUN.c.id == run_id)).one()
    conn.execute(sa.update(RUN).where(RUN.c.id == run_id).values(status="complete", finished_at=now))
    figures = {"video": (run.videos_checked, run.videos_removed),
               "comment": (run.comments_checked, run.comments_removed)}
    for table, (checked, removed) in figures.items():
        stmt = dialect_insert(conn, TABLE_REFRESH)
        conn.execute(stmt.on_conflict_do_update(index_elements=["table_name"], set_={
            "refresh_id": stmt.excluded.refresh_id, "refreshed_at": stmt.excluded.refreshed_at,
            "finished_at": stmt.excluded.finished_at, "rows_checked": stmt.excluded.rows_checked,
            "rows_removed": stmt.excluded.rows_removed,
            "total_removed": TABLE_REFRESH.c.total_removed + stmt.excluded.rows_removed}),
            {"table_name": table, "refresh_id": run_id, "refreshed_at": run.started_at, "finished_at": now,
             "rows_checked": checked, "rows_removed": removed, "total_removed": removed})
    return {"videos_checked": run.videos_checked, "videos_removed": run.videos_removed,
            "comments_checked": run.comments_checked, "comments_removed": run.comments_removed,
            "requests": run.requests}


# --- deletion ----------------------------------------------------------------------------------------

def references(table_name: str) -> list[sa.Column[Any]]:
    """Columns of other tables that hold ids of `table_name`: foreign keys to it, and (for tables that
    store ids without a foreign key, e.g. `comment.video_id`, `user_liked_video.video_id`) columns named
    `<table>_id`. Found from the models, so tables added later are covered too."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name == table_name:
            continue
        for column in table.columns:
            by_fk = any(fk.column.table.name == table_name for fk in column.foreign_keys)
            if by_fk or column.name == f"{table_name}_id":
                found.append(column)
    return found


def _delete_where_in(conn: Connection, column: sa.Column[Any], ids: Sequence[int]) -> int:
    removed = 0
    for part in chunked(ids):
        removed += conn.execute(sa.delete(column.table).where(column.in_(list(part)))).rowcount or 0
    return removed


def settle_reply_listings(conn: Connection, reply_ids: Sequence[int], *, now: datetime) -> None:
    """Before replies the API no longer serves are removed: a parent all of whose replies were stored (the
    video's listing had delivered them; none was cut off by its 1,000-item cap) gets its replies listing
    recorded as done. Its `reply_count` then exceeds the replies stored, and `fetch.comment_replies` would
    otherwise ask the API, once per parent and refresh, for replies it has just said it does not serve.
    A parent already missing replies before (the cap cut them off) is left to be asked."""
    comment = Base.metadata.tables["comment"]
    progress = Base.metadata.tables.get("comment_progress")
    if progress is None or not reply_ids:
        return
    parents: dict[int, int] = {}   # parent comment id -> its video id
    for part in chunked(sorted(set(reply_ids))):
        parents.update(conn.execute(sa.select(comment.c.parent_comment_id, comment.c.video_id).where(
            comment.c.id.in_(part), comment.c.parent_comment_id != comment.c.video_id)).all())
    for part in chunked(sorted(set(parents) - set(reply_ids))):
        stored: dict[int, int] = dict(conn.execute(sa.select(comment.c.parent_comment_id, sa.func.count()).where(
            comment.c.parent_comment_id.in_(part)).group_by(comment.c.parent_comment_id)).all())
        announced = dict(conn.execute(sa.select(comment.c.id, comment.c.reply_count).where(
            comment.c.id.in_(part))).all())
        listed = set(conn.execute(sa.select(progress.c.target_id).where(
            progress.c.target == "replies", progress.c.target_id.in_(part))).scalars())
        rows = [{"target": "replies", "target_id": parent, "video_id": parents[parent], "status": "done",
                 "cursor": 0, "has_more": False, "pages": 0, "comments": 0, "crawl_id": None, "updated_at": now,
                 "last_error": None}
                for parent in part if parent in announced and parent not in listed
                and (announced[parent] or 0) <= stored.get(parent, 0)]
        if rows:
            conn.execute(sa.insert(progress), rows)


def remove_comments(conn: Connection, ids: Iterable[int]) -> int:
    """Delete comments, the rows referring to them and the reply checkpoints of those comments."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    comment = Base.metadata.tables["comment"]
    for column in references("comment"):
        _delete_where_in(conn, column, ids)
    progress = Base.metadata.tables.get("comment_progress")
    if progress is not None:
        for part in chunked(ids):
            conn.execute(sa.delete(progress).where(progress.c.target == "replies",
                                                   progress.c.target_id.in_(list(part))))
    return _delete_where_in(conn, comment.c.id, ids)


def remove_videos(conn: Connection, ids: Iterable[int]) -> tuple[int, int]:
    """Delete videos with their comments, links (hashtags, effects, crawls, tags) and every other row
    naming them; returns (videos removed, comments removed with them)."""
    ids = sorted(set(ids))
    if not ids:
        return 0, 0
    comment = Base.metadata.tables["comment"]
    comment_ids: list[int] = []
    for part in chunked(ids):
        comment_ids += conn.execute(sa.select(comment.c.id).where(comment.c.video_id.in_(list(part)))).scalars()
    comments_removed = remove_comments(conn, comment_ids)
    for column in references("video"):
        _delete_where_in(conn, column, ids)
    video = Base.metadata.tables["video"]
    return _delete_where_in(conn, video.c.id, ids), comments_removed
