"""Plan -> pages committed with their checkpoints.

`session` (one crawl from spec registration to its summary, used by `crawlspec run` and the library),
`videos` (the video crawler: windows, leases, splitting failing windows), `paging` (the one cursor
paginator), `quota` (request budget and the wait-or-stop policy), `failing_days`, `empty_windows`,
`provisional`, `endpoint_access`, `stage` (what every enrichment stage shares), `enrichment` (runs the
stages a plan asks for) and `stages/` (one module per stage).
"""
