"""The base of every model that crosses the wire (REST bodies, stream events): camelCase JSON,
snake_case Python. Neutral ground: the API, the event streams and the domain all import it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base of every wire model: camelCase JSON, snake_case Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)
