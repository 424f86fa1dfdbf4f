"""Users specs: normalised names (spec and file), the compile document, the fingerprint, and one clear
message per mistake."""

from __future__ import annotations

import pytest

from crawlspec.errors import SpecError
from crawlspec.spec.compile import compile_spec
from crawlspec.spec.validate import validate_spec


def spec(**users) -> dict:
    return {"name": "people", "users": {"info": True, **users}}


def test_names_from_the_spec_and_a_file_are_normalised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "names.txt").write_text("@Bob\n\n# team\ncarol  # lead\nALICE\n", encoding="utf-8")
    compiled = compile_spec(spec(names=["@alice", "Bob\x00"], file="names.txt", followers=True))
    assert compiled.users.names == ("alice", "bob", "carol")
    assert compiled.to_document() == {"spec": "people", "fingerprint": compiled.fingerprint,
                                      "users": ["alice", "bob", "carol"], "info": True, "lists": ["followers"],
                                      "max_per_list": None}
    assert compiled.windows == () and compiled.query == {}


def test_fingerprint_covers_users_and_lists_not_their_spelling():
    base = compile_spec(spec(names=["alice", "bob"], followers=True)).fingerprint
    assert compile_spec(spec(names=["@BOB", "alice"], followers=True)).fingerprint == base
    assert compile_spec(spec(names=["alice"], followers=True)).fingerprint != base
    assert compile_spec(spec(names=["alice", "bob"], following=True)).fingerprint != base
    assert compile_spec(spec(names=["alice", "bob"], followers=True, max_per_list=5)).fingerprint != base


@pytest.mark.parametrize(("users", "extra", "expected"), [
    ({"names": ["a"], "folowers": True}, {}, "spec.users.folowers: unknown key; did you mean spec.users.followers?"),
    ({"names": []}, {}, "spec.users.names: empty and no spec.users.file"),
    ({"file": "missing.txt"}, {}, "spec.users.file: cannot read 'missing.txt'"),
    ({"names": ["a"]}, {"query": {"regions": ["US"]}}, "spec.query: cannot be combined with spec.users"),
    ({"names": ["a"]}, {"window": {"start": "2024-03-01"}}, "spec.window: a users spec has no window"),
    ({"names": ["a"], "info": False}, {}, "spec.users: nothing to fetch"),
    ({"names": ["a"], "max_per_list": 0}, {}, "spec.users.max_per_list"),
])
def test_each_mistake_is_named(tmp_path, monkeypatch, users, extra, expected):
    monkeypatch.chdir(tmp_path)
    problems = validate_spec({**spec(**users), **extra})
    assert any(problem.startswith(expected) for problem in problems), problems
    with pytest.raises(SpecError):
        compile_spec({**spec(**users), **extra})


def test_video_specs_are_unchanged_by_the_new_keys():
    video = {"name": "v", "query": {"regions": ["US"]}, "window": {"start": "2024-03-01", "end": "2024-03-02"}}
    plain = compile_spec(video)
    with_playlists = compile_spec({**video, "fetch": {"playlists": True}})
    assert plain.users is None and plain.fingerprint == with_playlists.fingerprint
