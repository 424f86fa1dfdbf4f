"""Spec -> plan, with no network and no database.

`schema` (JSON Schema of config and spec), `validate` (every problem at once, each naming its key),
`settings` (the validated config as frozen dataclasses), `query` (the older tool's query library),
`windows` (date windows), `users` (user-centred specs), `compile` (spec -> plan and fingerprint),
`resolvers` (`${days_ago:N}` and friends), `plan_warnings` (valid plans that are probably a mistake).
"""
