"""Name -> id lookups over more names than one IN list holds, with names SQL would misread if pasted."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crawlspec.storage.bulk import IN_CHUNK, ids_for_names
from crawlspec.storage.models import Hashtag, table_of

AWKWARD = ["it's", 'say "hi"', "a?b", "100%", "x) OR (1=1", "東京", "🎉", "semi;colon", "back\\slash"]


def test_every_name_gets_its_own_id_across_chunks(engine: Engine) -> None:
    table = table_of(Hashtag)
    names = AWKWARD + [f"tag{i}" for i in range(IN_CHUNK * 2 + 7)]
    with engine.begin() as conn:
        first = ids_for_names(conn, table, "name", names[: IN_CHUNK + 3])   # some exist before the second call
        ids = ids_for_names(conn, table, "name", names + names[:5])
        stored = dict(conn.execute(sa.select(table.c.name, table.c.id)).all())
    assert ids == stored and set(ids) == set(names)
    assert all(ids[name] == first[name] for name in first)
    assert len(set(ids.values())) == len(names)
