from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

# every table module, so autogenerate sees the whole schema
import maestro.domain.finops
import maestro.domain.models
import maestro.domain.rollouts
import maestro.domain.routing
import maestro.domain.runs
import maestro.domain.supply
import maestro.domain.tickets  # noqa: F401
from maestro.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
