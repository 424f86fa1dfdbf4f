"""CI must prove from day one that a real PostgreSQL server answers (skips only on a laptop)."""

import sqlalchemy as sa


def test_postgres_server_answers_and_accepts_writes(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE probe (id BIGINT PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO probe VALUES (9223372036854775807)"))
        version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        biggest = conn.execute(sa.text("SELECT id FROM probe")).scalar_one()
    engine.dispose()
    assert biggest == 2**63 - 1
    assert int(version.split(".")[0]) >= 13
