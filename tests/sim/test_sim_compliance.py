"""Simulator: batch compliance endpoints over HTTP, unavailability per simulated day, failing days."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from conftest import SIM_KEY, SIM_SECRET

from crawlspec.sim import SimOptions
from crawlspec.sim.day_ranges import parse_day_ranges

CREATE, STATUS, DOWNLOAD = ("/v2/research/validation_task/create/", "/v2/research/validation_task_status/get/",
                            "/v2/research/validation_task/download/")


def _token(sim) -> str:
    answer = requests.post(f"{sim.url}/v2/oauth/token/", data={
        "client_key": SIM_KEY, "client_secret": SIM_SECRET, "grant_type": "client_credentials"}, timeout=10)
    return answer.json()["access_token"]


def _create(sim, token: str, ids: list[int], category: str = "video") -> requests.Response:
    return requests.post(f"{sim.url}{CREATE}", headers={"Authorization": f"Bearer {token}"},
                         files={"file_data": ("ids.txt", "\n".join(map(str, ids)).encode(), "text/plain")},
                         data={"category": category}, timeout=10)


def _post_json(sim, token: str, path: str, task_id_text: str) -> requests.Response:
    body = '{"task_id": ' + task_id_text + "}"   # the exact integer, never through a float
    return requests.post(f"{sim.url}{path}", data=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def _task_id_text(answer: requests.Response) -> str:
    raw = answer.text
    start = raw.index('"task_id":') + len('"task_id":')
    return raw[start:raw.index("}", start)].strip()


def test_task_processing_then_completed_reports_only_live_videos(start_sim):
    sim = start_sim(videos=500, unavailable_rate=0.2, compliance_polls=2, today=date(2024, 4, 10))
    ids = [int(i) for i in sim.corpus.ids[:300]]
    sim.advance_day()
    token = _token(sim)

    created = _create(sim, token, ids)
    assert created.status_code == 200, created.text
    task_id = _task_id_text(created)
    assert int(task_id) > 2 ** 63, "the doc's task ids exceed a signed 64-bit integer"
    statuses = [_post_json(sim, token, STATUS, task_id).json()["data"]["task_status"] for _ in range(3)]
    assert statuses == ["Processing", "Processing", "Completed"]
    download = _post_json(sim, token, DOWNLOAD, task_id)

    valid = {int(line) for line in download.text.split()}
    live = {i for i in ids if not sim.corpus.deleted[sim.corpus.position(i)]}
    assert valid == live
    assert 0.1 * len(ids) < len(ids) - len(valid) < 0.35 * len(ids), "about a fifth became unavailable"
    stats = sim.stats()
    assert stats["quota_used"] == 5, "create, three polls and the download are each charged"
    assert stats["requests"][STATUS] == 3


def test_unavailable_videos_leave_queries_and_the_outcome_depends_only_on_the_seed(start_sim):
    first = start_sim(videos=400, unavailable_rate=0.1, today=date(2024, 4, 10))
    second = start_sim(videos=400, unavailable_rate=0.1, today=date(2024, 4, 10))
    for sim in (first, second):
        sim.advance_day()
        sim.advance_day()
        sim.app.availability.sync()
    assert bytes(first.corpus.deleted) == bytes(second.corpus.deleted)
    assert sum(first.corpus.deleted) > 40
    untouched = start_sim(videos=400)
    assert sum(untouched.corpus.deleted) == 0, "a caller's corpus is never modified"


def test_failed_on_demand_and_bad_uploads(start_sim):
    sim = start_sim(videos=50, compliance_polls=0)
    token = _token(sim)
    assert requests.post(f"{sim.url}/_sim/compliance/fail-next?count=1", timeout=10).status_code == 200
    failed = _task_id_text(_create(sim, token, [int(sim.corpus.ids[0])]))
    assert _post_json(sim, token, STATUS, failed).json()["data"]["task_status"] == "Failed"
    assert _post_json(sim, token, DOWNLOAD, failed).status_code == 400
    assert _create(sim, token, list(range(1, 10_002))).status_code == 400, "at most 10,000 ids per task"
    assert _create(sim, token, [1], category="user").status_code == 400
    as_json = requests.post(f"{sim.url}{CREATE}", json={"file_data": "1", "category": "video"}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert as_json.status_code == 400, "a JSON body is not the multipart upload"


def test_failing_days_answer_500_for_every_window_touching_them(start_sim):
    sim = start_sim(videos=300, failing_days="2024-03-10..2024-03-11")
    token = _token(sim)

    def query(start: str, end: str) -> int:
        body = {"query": {"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["US"]}]},
                "start_date": start, "end_date": end, "max_count": 10}
        return requests.post(f"{sim.url}/v2/research/video/query/?fields=id", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {token}"}).status_code

    assert query("20240301", "20240310") == 500
    assert query("20240311", "20240315") == 500
    assert query("20240301", "20240309") == 200
    assert query("20240312", "20240320") == 200
    assert sim.stats()["faults"]["failing_day"] == 2


@pytest.mark.parametrize("text, ranges", [
    ("2024-03-10..2024-03-12", ((date(2024, 3, 10), date(2024, 3, 12)),)),
    ("2024-03-10, 2024-03-20..2024-03-21", ((date(2024, 3, 10), date(2024, 3, 10)),
                                             (date(2024, 3, 20), date(2024, 3, 21)))),
    ("", ()),
])
def test_day_ranges_parse(text, ranges):
    assert parse_day_ranges(text) == ranges


def test_bad_failing_days_are_rejected_with_the_option_name():
    with pytest.raises(ValueError, match="failing_days"):
        SimOptions(failing_days="2024-03-12..2024-03-10")
    with pytest.raises(ValueError, match="unavailable_rate"):
        SimOptions(unavailable_rate=1.5)
