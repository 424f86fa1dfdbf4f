"""The storage functions behind the crawl's policies (failing days, empty days, refused endpoints,
window lookups), on a real SQLite file and the real PostgreSQL server: what is written reads back."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy.engine import Engine

from crawlspec.storage import checkpoints, empty_days, endpoint_access
from crawlspec.storage import failing_days as failing

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=timezone.utc)


def test_a_failing_day_is_inserted_updated_read_and_deleted(engine: Engine) -> None:
    day = date(2024, 3, 5)
    with engine.begin() as conn:
        assert failing.failure_count(conn, "fp", day) is None
        failing.write_failing_day(conn, "fp", day, first=True, failures=1, requests=3, last_log_id="log-1",
                                  last_error="500", last_failed_at=NOW, retry_after=date(2024, 3, 21))
        failing.write_failing_day(conn, "fp", day, first=False, failures=2, requests=5, last_log_id="log-2",
                                  last_error="502", last_failed_at=NOW + timedelta(days=1),
                                  retry_after=date(2024, 3, 23))
        assert failing.failure_count(conn, "fp", day) == failing.FailureCount(failures=2, requests=5)
        rows = failing.load_failing_days(conn, "fp", date(2024, 3, 1), date(2024, 3, 31))
        assert [(r.day, r.failures, r.retry_after, r.last_log_id) for r in rows] == [
            (day, 2, date(2024, 3, 23), "log-2")]
        assert failing.load_failing_days(conn, "other", date(2024, 3, 1), date(2024, 3, 31)) == []
        assert failing.delete_failing_days(conn, "fp", [day, date(2024, 3, 6)]) == 1
        assert failing.failure_count(conn, "fp", day) is None


def test_empty_days_keep_their_first_answer(engine: Engine) -> None:
    days = [date(2024, 3, 1), date(2024, 3, 2)]
    with engine.begin() as conn:
        empty_days.record_empty_days(conn, "fp", days[:1], now=NOW)
        empty_days.record_empty_days(conn, "fp", days, now=NOW + timedelta(hours=30))
        known = empty_days.empty_days_among(conn, "fp", days)
        assert {day: first.replace(tzinfo=timezone.utc) if first.tzinfo is None else first
                for day, first in known.items()} == {days[0]: NOW, days[1]: NOW + timedelta(hours=30)}
        assert sorted(empty_days.empty_days_between(conn, "fp", days[1], days[1])) == [days[1]]
        empty_days.delete_empty_days(conn, "fp", days[:1])
        assert empty_days.all_empty_days(conn, "fp") == [days[1]]


def test_a_refusal_is_renewed_and_cleared(engine: Engine) -> None:
    with engine.begin() as conn:
        endpoint_access.record_refusal(conn, "/v2/research/user/info/", "no scope", now=NOW)
        endpoint_access.record_refusal(conn, "/v2/research/user/info/", "no scope", now=NOW + timedelta(days=1))
        refused = endpoint_access.refused_endpoints(conn)
        assert list(refused) == ["/v2/research/user/info/"]
        assert refused["/v2/research/user/info/"].replace(tzinfo=timezone.utc) == NOW + timedelta(days=1)
        endpoint_access.clear_refusal(conn, "/v2/research/user/info/")
        assert endpoint_access.refused_endpoints(conn) == {}


def test_a_window_reads_its_lease_and_status_until_it_is_deleted(engine: Engine) -> None:
    with engine.begin() as conn:
        window = checkpoints.open_window(conn, fingerprint="fp", start_date=date(2024, 3, 1),
                                         end_date=date(2024, 3, 2), crawl_id=None, now=NOW)
        assert checkpoints.claim_window(conn, window, owner="me", until=NOW + timedelta(minutes=5), now=NOW)
        assert checkpoints.window_lease_owner(conn, window.id) == "me"
        assert checkpoints.window_status(conn, window.id) == window.status
        assert not checkpoints.spec_had_videos(conn, "fp")
        checkpoints.delete_window(conn, window.id)
        assert checkpoints.window_status(conn, window.id) is None
        assert checkpoints.window_lease_owner(conn, window.id) is None
