"""`crawlspec init NAME`: write a commented starter spec to `./specs/NAME.yaml`.

The starter names every spec key with its default and a one-line explanation, validates as written,
and returns data against the embedded simulator (`crawlspec run +spec=NAME api=sim`). An existing file
is never overwritten; a NAME that is not `[a-z0-9_-]+` is refused. Both exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from crawlspec import exit_codes

NAME_RE = re.compile(r"[a-z0-9_-]+")   # the spec schema's `name` pattern

STARTER = """\
# {name}: a crawl spec. Every key below is optional except name, query and window.
#   crawlspec validate +spec={name}        every problem at once (exit 2 if any)
#   crawlspec compile +spec={name}         the exact API query and windows, as JSON; sends nothing
#   crawlspec run +spec={name} api=sim     try it against the embedded simulator (March 2024 corpus)
#   crawlspec run +spec={name}             the real Research API (credentials in secrets.yaml)
name: {name}

# What to collect. Hashtags lose a leading '#', and hashtags, keywords and usernames are lowercased.
# "any" = one IN condition (at least one of them); "all" = one EQ condition per value (every one).
# "any" and "all" of one kind cannot be combined. Quote values YAML would read otherwise ("no", "1234").
query:
  include_any_hashtags: [shoes, sneakers]
  include_all_hashtags: []
  exclude_any_hashtags: []
  exclude_all_hashtags: []
  include_any_keywords: []     # words or phrases of the video description
  include_all_keywords: []
  exclude_any_keywords: []
  exclude_all_keywords: []
  only_from_usernames: []      # exclusive with exclude_from_usernames
  exclude_from_usernames: []
  regions: []                  # the API's region codes: US, GB, FR, ... (GB, not UK)
  video_ids: []                # exclusive with every other query key
  raw: null                    # or a full API query {{and: [...], or: [...], not: [...]}}, exclusive too

# Days to collect, both included: ISO dates, or relative ones such as ${{days_ago:9}} .. ${{days_ago:2}}.
window:
  start: "2024-03-01"
  end: "2024-03-14"
  days_per_query: auto         # sized by the crawl (30 days until the API answers 5xx), or 1..30 days

tags: [{name}]                 # stored with every crawl and video (provenance)
sample: false                  # true: a random sample (is_random), one request per window
fetch:
  comments: false              # comments of each video that has any (up to the API's 1,000)
  comment_replies: false       # also the replies of those comments
  user_info: false             # each creator's profile
  playlists: false             # each playlist's info
fields: default                # default (the 14 classic video fields), all, or a list of fields
limits:
  max_api_requests: null       # stop after this many requests (exit 75, resumable)
  max_count: 100               # videos per request, 1..100
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawlspec init", description="Write a commented starter spec to ./specs/NAME.yaml.")
    parser.add_argument("name", metavar="NAME", help="the spec's name: lowercase letters, digits, '_' and '-'")
    return parser


def starter_spec(name: str) -> str:
    return STARTER.format(name=name)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)   # a missing NAME exits 2 (argparse)
    name: str = args.name
    if not NAME_RE.fullmatch(name):
        print(f"crawlspec init: {name!r} is not a spec name; use lowercase letters, digits, '_' and '-' "
              "(e.g. shoes_2024)", file=sys.stderr)
        return exit_codes.INVALID_INPUT
    path = Path("specs") / f"{name}.yaml"
    if path.parent.exists() and not path.parent.is_dir():
        print(f"crawlspec init: {path.parent} is not a directory; nothing was written", file=sys.stderr)
        return exit_codes.INVALID_INPUT
    try:
        path.parent.mkdir(exist_ok=True)
        with path.open("x", encoding="utf-8") as out:   # never overwrites, even in a race
            out.write(starter_spec(name))
    except FileExistsError:
        print(f"crawlspec init: {path} already exists; nothing was written (edit it, or choose another NAME)",
              file=sys.stderr)
        return exit_codes.INVALID_INPUT
    print(f"wrote {path}: check it with `crawlspec validate +spec={name}`, "
          f"try it with `crawlspec run +spec={name} api=sim`")
    return exit_codes.OK
