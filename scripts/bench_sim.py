"""Benchmark the simulator: corpus build time, new-search latency, cached-page throughput, memory.

    python scripts/bench_sim.py                 # 100,000 videos (targets: <10 s, <0.5 s, 300+ pages/s)
    python scripts/bench_sim.py --memory 1000000  # also RSS of a 1,000,000-video corpus in a child process

Prints what it measured; runs by hand, not in the test suite.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import requests

from crawlspec.sim import SimOptions, start_simulator
from crawlspec.sim.corpus import generate_corpus

VIDEO = "/v2/research/video/query/?fields=id,create_time,username,region_code,video_description,music_id,"\
        "like_count,comment_count,share_count,view_count,hashtag_names,effect_ids,playlist_id,voice_to_text"


def token(url: str, session: requests.Session) -> dict[str, str]:
    reply = session.post(url + "/v2/oauth/token/", data={"client_key": "sim-key", "client_secret": "sim-secret",
                                                         "grant_type": "client_credentials"})
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def query(tags: list[str], regions: list[str] | None = None, keyword: str | None = None) -> dict:
    conditions = [{"operation": "IN", "field_name": "hashtag_name", "field_values": tags}]
    if regions:
        conditions.append({"operation": "IN", "field_name": "region_code", "field_values": regions})
    body = {"and": conditions}
    if keyword:
        body["not"] = [{"operation": "EQ", "field_name": "keyword", "field_values": [keyword]}]
    return body


def measure(url: str, label: str) -> None:
    session = requests.Session()
    headers = token(url, session)
    cases = {
        "broad (fyp|foryou|viral)": query(["fyp", "foryou", "viral"]),
        "hashtags+regions, not keyword": query(["shoes", "sneakers", "fashion"], ["US", "GB", "BR"], "rate"),
        "everything (not keyword)": {"not": [{"operation": "EQ", "field_name": "keyword", "field_values": ["zzzz"]}]},
    }
    for name, q in cases.items():
        body = {"query": q, "start_date": "20240301", "end_date": "20240331", "max_count": 100}
        began = time.perf_counter()
        session.post(url + VIDEO, json=body, headers=headers).json()
        print(f"[{label}] new search over 31 days [{name}]: {(time.perf_counter() - began) * 1000:.0f} ms "
              "(evaluation + first page of 100)")
    body = {"query": cases["everything (not keyword)"], "start_date": "20240301", "end_date": "20240331",
            "max_count": 100}
    data = session.post(url + VIDEO, json=body, headers=headers).json()["data"]
    pages, seen, began = 0, 0, time.perf_counter()
    while data["has_more"] and pages < 600:
        body.update(cursor=data["cursor"], search_id=data["search_id"])
        data = session.post(url + VIDEO, json=body, headers=headers).json()["data"]
        pages, seen = pages + 1, seen + len(data["videos"])
    elapsed = time.perf_counter() - began
    print(f"[{label}] follow-up pages: {pages} pages / {seen:,} videos (14 fields, each rendered for the first "
          f"time) in {elapsed:.2f} s = {pages / elapsed:.0f} pages/s")
    began = time.perf_counter()
    for i in range(300):
        body["cursor"] = 100 * (1 + i % pages)
        session.post(url + VIDEO, json=body, headers=headers).json()
    print(f"[{label}] random-access pages of the cached search: {300 / (time.perf_counter() - began):.0f} pages/s")


def bench_in_process(videos: int) -> None:
    opts = SimOptions(videos=videos, daily_quota=10**9)
    began = time.perf_counter()
    corpus = generate_corpus(opts)
    print(f"corpus: {videos:,} videos ready in {time.perf_counter() - began:.2f} s")
    with start_simulator(opts, corpus=corpus) as sim:
        measure(sim.url, "in-process, client shares the GIL")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def bench_subprocess(videos: int) -> None:
    """The server as `crawlspec sim` in its own process (how a user runs it): no GIL shared with the client."""
    command = [sys.executable, "-m", "crawlspec", "sim", "--videos", str(videos), "--daily-quota", str(10**9)]
    began = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = proc.stdout.readline().strip().removeprefix("listening on ")
        print(f"`crawlspec sim --videos {videos}`: listening after {time.perf_counter() - began:.2f} s "
              "(interpreter start + corpus)")
        measure(url, "crawlspec sim process")
    finally:
        proc.terminate()
        proc.wait()


def bench_memory(videos: int) -> None:
    """Build the corpus in a fresh child process so its peak RSS is the corpus' alone."""
    code = ("import resource, time; from crawlspec.sim import SimOptions; from crawlspec.sim.corpus import "
            f"generate_corpus; t=time.perf_counter(); c=generate_corpus(SimOptions(videos={videos})); "
            "print(f'{len(c):,} videos in {time.perf_counter()-t:.1f} s, peak RSS '"
            "f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    print(f"memory: {result.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--memory", type=int, default=0, metavar="N", help="also measure an N-video corpus' RSS")
    args = parser.parse_args()
    bench_in_process(args.videos)
    bench_subprocess(args.videos)
    if args.memory:
        bench_memory(args.memory)


if __name__ == "__main__":
    main()
