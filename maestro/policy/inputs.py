"""The `input` documents policies see at each point (what Rego authors write against)."""

from __future__ import annotations

from typing import Any

from maestro.pipelines import spec as specmod


def admission_input(name: str, spec: specmod.PipelineSpec, actor: str) -> dict[str, Any]:
    """Pipeline admission: the spec as saved, who saves it."""
    return {"point": "admission", "pipeline": name, "spec": spec.model_dump(mode="json", by_alias=True), "actor": actor}
