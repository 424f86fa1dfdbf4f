"""Every rejection, through the function the CLI runs (`hydra_app.main`), in-process for speed.

Each case: exit 2, every expected key path in the message, no traceback, nothing on stdout,
nothing written in the working directory. `test_cli_spec.py` runs a sample of the same table
through the installed executable.
"""

from __future__ import annotations

import pytest
from support.spec_rejections import REJECTIONS, arrange, listing, spec_file

from crawlspec.cli import hydra_app


# `compile` validates through the same path as `validate`: the fast lane runs each rejection once.
@pytest.mark.parametrize("command", ["validate", pytest.param("compile", marks=pytest.mark.slow)])
@pytest.mark.parametrize("case", list(REJECTIONS))
def test_rejection_exits_2_naming_the_key(case, command, tmp_path, monkeypatch, capsys):
    spec_text, overrides, expected = REJECTIONS[case]
    monkeypatch.chdir(tmp_path)
    argv = arrange(tmp_path, spec_text, overrides)
    before = listing(tmp_path)
    code = hydra_app.main(command, argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} missing from:\n{err}"
    assert out == ""
    assert "Traceback" not in err
    assert listing(tmp_path) == before


def test_validate_reports_every_problem_at_once(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = spec_file("  include_any_hashtags: [a]\n  include_all_hashtags: [b]\n  regions: [ZZ]",
                     name="BAD", window='window: {start: "2024-03-31", end: "2024-03-01", days_per_query: 31}\n',
                     extra="colour: red\n")
    argv = arrange(tmp_path, text, [])
    assert hydra_app.main("validate", argv) == 2
    err = capsys.readouterr().err
    for path in ("spec.name", "spec.query.include_all_hashtags", "spec.query.regions[0]", "spec.window.end",
                 "spec.window.days_per_query", "spec.colour"):
        assert path in err
