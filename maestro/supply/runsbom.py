"""A run's SBOM and its diff against the previous successful run of the same pipeline."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from maestro.artifacts import Store, read_verified
from maestro.domain.runs import Artifact, Run
from maestro.pipelines.spec import SBOM_FILE
from maestro.supply import sbom


def sbom_artifact(s: Session, run_id: str) -> Artifact | None:
    stmt = select(Artifact).where(Artifact.run_id == run_id, col(Artifact.path).endswith(SBOM_FILE))
    return s.exec(stmt.order_by(col(Artifact.created_at).desc())).first()


def read_json(store: Store, a: Artifact) -> dict[str, Any]:
    """Raises FileNotFoundError / DigestMismatch / ValueError when the store cannot give it back intact."""
    return json.loads(read_verified(store, a.sha256))  # type: ignore[no-any-return]


def base_run(s: Session, run: Run) -> tuple[Run, Artifact] | None:
    earlier = s.exec(
        select(Run)
        .where(
            Run.pipeline_id == run.pipeline_id, Run.status == "succeeded", Run.id != run.id, col(Run.created_at) < run.created_at
        )
        .order_by(col(Run.created_at).desc())
        .limit(50)
    ).all()
    for r in earlier:
        if (found := sbom_artifact(s, r.id)) is not None:
            return r, found
    return None


def diff_for(s: Session, store: Store, run: Run, doc: dict[str, Any]) -> tuple[str | None, dict[str, list[dict[str, Any]]]]:
    base = base_run(s, run)
    old = read_json(store, base[1]) if base else {"components": []}
    return (base[0].id if base else None), sbom.diff(old, doc)
