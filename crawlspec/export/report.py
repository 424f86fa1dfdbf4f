"""`crawlspec report --db URL --out report.html`: one self-contained HTML page picturing every crawl.

Per spec: a calendar of its days (covered, pending, failing, empty-unconfirmed), its videos per day
and its stages (comments, creators, user lists); for the database: requests per UTC day from the
quota ledger against the daily budget, and the compliance refresh age. The charts are Plotly figures;
plotly.js is written into the page once, so it opens without a network. Each figure's JSON sits in a
`<script type="application/json" data-chart=...>` element that the page draws from (and that tests
read back), so what is drawn is exactly what was collected.

Read-only: never creates or migrates a database. Needs the `report` extra (`pip install 'crawlspec[report]'`).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from crawlspec import exit_codes
from crawlspec.errors import CrawlspecError
from crawlspec.export.overview import collect_status
from crawlspec.storage import stage_progress
from crawlspec.storage.database import open_existing_database

STATE_COLOURS = {"covered": "#2e7d32", "pending": "#bdbdbd", "failing": "#c62828", "empty-unconfirmed": "#f9a825"}


def _invalid(message: str) -> CrawlspecError:
    err = CrawlspecError(message)
    err.exit_code = exit_codes.INVALID_INPUT
    return err


def build_report(db_url: str, *, daily_quota: int = 1000) -> str:
    return render_html(collect_report(db_url, daily_quota=daily_quota))


def collect_report(db_url: str, *, daily_quota: int = 1000) -> dict[str, Any]:
    """Everything the page shows, as plain data (dates as ISO strings)."""
    status = collect_status(db_url, daily_quota=daily_quota)
    engine = open_existing_database(db_url)
    try:
        with engine.connect() as conn:
            specs = [_spec_picture(conn, spec) for spec in status["specs"]]
            ledger = {pool: {d.isoformat(): n for d, n in days.items()}
                      for pool, days in stage_progress.requests_per_day(conn).items()}
    finally:
        engine.dispose()
    return {"database": status["database"], "today": status["today"], "daily_quota": daily_quota,
            "follow_quota": status["quota"]["follow"]["limit"], "videos_total": status["videos_total"],
            "refresh": status["refresh"], "ledger": ledger, "specs": specs}


def _spec_picture(conn: Any, spec: dict[str, Any]) -> dict[str, Any]:
    fp = spec["fingerprint"]
    users_spec = spec.get("user_lists") is not None
    calendar: dict[str, str] = {}
    if not users_spec:
        days = stage_progress.spec_range(conn, fp)
        if days is not None:
            calendar = {d.isoformat(): s for d, s in stage_progress.day_states(conn, fp, days.days()).items()}
    return {
        "name": spec["name"], "fingerprint": fp, "videos": spec["videos"], "last_run": spec["last_run"],
        "calendar": calendar,
        "videos_per_day": {d.isoformat(): n for d, n in stage_progress.videos_per_day(conn, fp).items()},
        # the stages the spec asked for (or that did work), as `status` shows them
        "stages": {"user_lists": stage_progress.user_list_stage(conn, fp)} if users_spec else
        dict(spec.get("stages") or {}),
    }


# --- rendering -------------------------------------------------------------------------------------

def _plotly() -> Any:
    try:
        import plotly.graph_objects as go  # lazy: plotly is an optional extra, slow to import
    except ImportError as err:
        raise _invalid("the report needs plotly: pip install 'crawlspec[report]'") from err
    return go


def calendar_figure(spec: dict[str, Any]) -> Any:
    go = _plotly()
    fig = go.Figure()
    for state, colour in STATE_COLOURS.items():
        days = [d for d, s in spec["calendar"].items() if s == state]
        fig.add_trace(go.Bar(x=days, y=[1] * len(days), name=f"{state} ({len(days)})", marker_color=colour,
                             hovertemplate="%{x}: " + state + "<extra></extra>"))
    fig.update_layout(title=f"days of {spec['name']}", barmode="overlay", height=220, bargap=0.05, showlegend=True,
                      yaxis={"visible": False}, xaxis={"type": "date"}, margin={"t": 40, "b": 30})
    return fig


def videos_figure(spec: dict[str, Any]) -> Any:
    go = _plotly()
    per_day = spec["videos_per_day"]
    fig = go.Figure(go.Bar(x=list(per_day), y=list(per_day.values()), name="videos", marker_color="#1565c0"))
    fig.update_layout(title=f"videos of {spec['name']} per day of creation (UTC)", height=280,
                      xaxis={"type": "date"}, margin={"t": 40, "b": 30})
    return fig


def requests_figure(report: dict[str, Any]) -> Any:
    go = _plotly()
    research = report["ledger"].get("research", {})
    fig = go.Figure(go.Bar(x=list(research), y=list(research.values()), name="research requests",
                           marker_color="#6a1b9a"))
    fig.add_hline(y=report["daily_quota"], line_dash="dash", line_color="#c62828",
                  annotation_text=f"daily budget {report['daily_quota']}")
    follow = report["ledger"].get("follow", {})
    if follow:
        fig.add_trace(go.Bar(x=list(follow), y=list(follow.values()), name="follow pool requests",
                             marker_color="#ef6c00"))
    fig.update_layout(title="requests per UTC day (quota ledger)", height=300, xaxis={"type": "date"},
                      margin={"t": 40, "b": 30}, barmode="group")
    return fig


def _chart(name: str, fig: Any) -> str:
    payload = fig.to_json().replace("</", "<\\/")
    return (f'<div class="chart" id="chart-{html.escape(name)}"></div>\n'
            f'<script type="application/json" data-chart="{html.escape(name)}">{payload}</script>')


def _stages_table(spec: dict[str, Any]) -> str:
    stages = spec["stages"]
    rows = []
    if "comments" in stages:
        rows.append(("comments (videos with comments)", stages["comments"]["done"], stages["comments"]["pending"],
                     f"{stages['comments'].get('comments_stored', 0)} comments stored"))
    if "creators" in stages:
        rows.append(("creators (user info)", stages["creators"]["done"], stages["creators"]["pending"], ""))
    if stages.get("user_lists"):
        done = stages["user_lists"].get("done", 0)
        rows.append(("user lists", done, sum(stages["user_lists"].values()) - done,
                     ", ".join(f"{n} {s}" for s, n in stages["user_lists"].items())))
    body = "".join(f"<tr><td>{html.escape(n)}</td><td>{d}</td><td>{p}</td><td>{html.escape(x)}</td></tr>"
                   for n, d, p, x in rows)
    return f"<table><tr><th>stage</th><th>done</th><th>pending</th><th></th></tr>{body}</table>"


def _refresh_line(refresh: dict[str, Any]) -> str:
    if refresh.get("last_refresh_at") is None:
        text = "compliance refresh: never run"
    else:
        text = f"compliance refresh: last {refresh['last_refresh_at']} ({refresh['age_days']} days ago)"
    if refresh.get("overdue"):
        text += f" — OVERDUE (refresh at least every {refresh['max_age_days']} days: crawlspec refresh)"
    return f'<p class="{"overdue" if refresh.get("overdue") else "ok"}">{html.escape(text)}</p>'


def render_html(report: dict[str, Any]) -> str:
    from plotly.offline import get_plotlyjs  # lazy: plotly is an optional extra, slow to import

    _plotly()
    sections = []
    for i, spec in enumerate(report["specs"]):
        run = spec["last_run"] or {}
        charts = []
        if spec["calendar"]:
            charts.append(_chart(f"calendar-{i}", calendar_figure(spec)))
        if spec["videos_per_day"]:
            charts.append(_chart(f"videos-{i}", videos_figure(spec)))
        sections.append(
            f'<section data-spec="{html.escape(spec["name"])}"><h2>spec {html.escape(spec["name"])} '
            f'<small>[{spec["fingerprint"][:12]}]</small></h2>'
            f'<p>{spec["videos"]} videos; last run: {html.escape(str(run.get("outcome", "none")))}, '
            f'{run.get("requests", 0) or 0} requests</p>{"".join(charts)}{_stages_table(spec)}</section>')
    summary = (f"<p>database {html.escape(report['database'])} · {report['videos_total']} videos · "
               f"generated for {report['today']} (UTC)</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crawlspec report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:left}}
.overdue{{color:#c62828;font-weight:bold}}section{{border-top:2px solid #eee;margin-top:2em}}</style>
<script>{get_plotlyjs()}</script></head><body>
<h1>crawlspec report</h1>{summary}{_refresh_line(report["refresh"])}
{_chart("requests", requests_figure(report))}
{"".join(sections) or "<p>no crawls yet</p>"}
<script>
document.querySelectorAll('script[data-chart]').forEach(function (el) {{
  var fig = JSON.parse(el.textContent);
  Plotly.newPlot('chart-' + el.dataset.chart, fig.data, fig.layout, {{displaylogo: false, responsive: true}});
}});
</script></body></html>
"""


def charts_of(page: str) -> dict[str, Any]:
    """The figures embedded in a report page, by chart name (what the page draws)."""
    found = re.findall(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', page, re.S)
    return {name: json.loads(payload.replace("<\\/", "</")) for name, payload in found}

