"""Task queue names and I/O types shared by the API and the workers."""

from __future__ import annotations

from dataclasses import dataclass, field

CONTROL_TASK_QUEUE = "maestro-control"

# Custom search attributes registered on the embedded server (and by `maestro up` on external ones).
SEARCH_ATTRIBUTES = {
    "MaestroPipeline": "Keyword",
    "MaestroEnv": "Keyword",
    "MaestroTenant": "Keyword",
    "MaestroStatus": "Keyword",
}


@dataclass
class DiagnosticsInput:
    """Run ``steps`` activities one after another, each taking ``step_seconds``."""

    steps: int = 3
    step_seconds: float = 0.2
    label: str = ""


@dataclass
class DiagnosticStepInput:
    index: int
    seconds: float


@dataclass
class DiagnosticStepResult:
    index: int
    worker_pid: int
    worker_host: str
    attempt: int


@dataclass
class DiagnosticsResult:
    steps: list[DiagnosticStepResult] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""
