"""Raw HTTP to an in-process simulator (no crawlspec client in between): a token, a request, the
error envelope the API answers with."""

from __future__ import annotations

import re
from datetime import date

import requests

from crawlspec.sim import SimOptions, start_simulator

KEY, SECRET = "k-test", "s-test"
VIDEO = "/v2/research/video/query/"
USER = "/v2/research/user/info/"
COMMENTS = "/v2/research/video/comment/list/"
TOKEN = "/v2/oauth/token/"
LOG_ID = re.compile(r"^\d{14}[0-9A-F]{8,}$")
SHOES = {"and": [{"operation": "IN", "field_name": "hashtag_name", "field_values": ["shoes", "sneakers"]}]}


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_717_000_000.0

    def __call__(self) -> float:
        return self.now


def start(clock=None, **overrides):
    options = {"seed": 3, "videos": 1500, "client_key": KEY, "client_secret": SECRET, "today": date(2024, 6, 1)}
    options.update(overrides)
    return start_simulator(SimOptions(**options), port=0, clock=clock)


def token(sim, session=requests) -> str:
    reply = session.post(sim.url + TOKEN, data={"client_key": KEY, "client_secret": SECRET,
                                                "grant_type": "client_credentials"})
    return reply.json()["access_token"]


def post(sim, path, body, fields="id", tok=None, **kwargs):
    headers = {"Authorization": f"Bearer {tok or token(sim)}"}
    return requests.post(f"{sim.url}{path}?fields={fields}", json=body, headers=headers, timeout=10, **kwargs)


def video_body(query=None, **extra):
    body = {"query": SHOES if query is None else query, "start_date": "20240301", "end_date": "20240314", "max_count": 100}
    body.update(extra)
    return body


def assert_error(reply, status: int, code: str, message: str = "") -> dict:
    assert reply.status_code == status, reply.text
    payload = reply.json()
    assert set(payload) == {"error"}
    assert payload["error"]["code"] == code
    assert message in payload["error"]["message"]
    assert LOG_ID.match(payload["error"]["log_id"])
    return payload
