"""Connecting to Temporal (with the tracing interceptor) and registering search attributes."""

from __future__ import annotations

import asyncio
import time

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from maestro.config import Settings
from maestro.shared import SEARCH_ATTRIBUTES


async def connect(settings: Settings, *, wait_seconds: float = 0) -> Client:
    """Connect, retrying for up to ``wait_seconds`` while the server starts."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await Client.connect(
                settings.effective_temporal_address,
                namespace=settings.temporal_namespace,
                interceptors=[TracingInterceptor()],
            )
        except Exception:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register Maestro's custom search attributes that are missing; returns the ones added."""
    have = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing = {k: v for k, v in SEARCH_ATTRIBUTES.items() if k not in have.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={k: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{v.upper()}") for k, v in missing.items()},
            )
        )
    return sorted(missing)
