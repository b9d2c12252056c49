"""What the streams carry is what the OpenAPI document says: typed envelopes, one per event type."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from maestro.activities.steps import _line_event
from maestro.api.app import create_app
from maestro.config import Settings
from maestro.events import make_envelope
from maestro.events.payloads import LogLineEvent, RunEvent, RunEventPayload, StepEventPayload, StreamEvent
from maestro.events.streams import TOPICS

RUN = RunEventPayload(
    run_id="r1",
    workflow_id="run-r1",
    pipeline="p",
    number=3,
    env="dev",
    status="running",
    paused=False,
    steps_done=0,
    steps_total=2,
    cost_usd=0.0,
    duration_ms=None,
)


def _union_types() -> set[str]:
    mapping = StreamEvent.model_json_schema()["discriminator"]["mapping"]
    return set(mapping)


def test_make_envelope_picks_the_typed_envelope_of_its_type() -> None:
    env = make_envelope(type="run_started", entity="run", id="r1", payload=RUN, tenant="t1", env="dev")
    assert isinstance(env, RunEvent) and env.payload.number == 3
    wire = json.loads(env.model_dump_json(by_alias=True))
    assert wire["payload"]["runId"] == "r1" and wire["payload"]["stepsTotal"] == 2 and wire["traceId"] == ""
    assert isinstance(StreamEvent.model_validate(wire).root, RunEvent)


def test_a_payload_that_is_not_its_types_model_is_refused() -> None:
    step = StepEventPayload(
        run_id="r1", key="a", name="a", status="running", attempt=1, exit_code=None, duration_ms=None, message=""
    )
    with pytest.raises(ValidationError):
        make_envelope(type="run_started", entity="run", id="r1", payload=step, tenant="t1")
    with pytest.raises(ValidationError):
        make_envelope(type="no_such_event", entity="run", id="r1", payload=RUN, tenant="t1")


def test_a_status_outside_the_state_module_is_refused() -> None:
    with pytest.raises(ValidationError):
        RunEventPayload.model_validate(RUN.model_dump() | {"status": "exploded"})


def test_the_fast_log_line_encoding_is_a_log_line_event() -> None:
    """Log floods skip the model on the hot path (the line is encoded once); the result must still parse."""
    ln = {"ts": datetime.now(UTC).isoformat(), "step": "build", "stream": "stderr", "line": 'a "quoted"\tline', "n": 7}
    ln |= {"attempt": 2, "execution": 1}
    ev = StreamEvent.model_validate_json(_line_event(ln, json.dumps(ln))).root
    assert isinstance(ev, LogLineEvent)
    assert (ev.id, ev.payload.line, ev.payload.stream, ev.payload.n) == ("build:2:1:7", 'a "quoted"\tline', "stderr", 7)


def test_every_event_a_topic_promises_is_in_the_union_and_back() -> None:
    named = {t for topic in TOPICS.values() for t in re.findall(r"\b[a-z]+_[a-z_]+\b", topic.description)}
    assert named == _union_types(), "TOPICS descriptions and the StreamEvent union list the same event types"


def test_the_openapi_document_publishes_the_stream_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = create_app(Settings(data_dir=tmp_path), start_background=False).openapi()
    body = doc["paths"]["/api/streams/{topic}"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert body["schema"] == {"$ref": "#/components/schemas/StreamEvent"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["StreamEvent"]["discriminator"]["mapping"]) == _union_types()
    for ref in schemas["StreamEvent"]["discriminator"]["mapping"].values():
        assert ref.rsplit("/", 1)[1] in schemas


def test_rollout_steps_stored_by_older_versions_still_read() -> None:
    """Durations were once stored as written ("2m", "10s"): the typed response reads them as seconds
    instead of failing every list that includes such a rollout."""
    from maestro.rollouts.service import RolloutStepPublic

    stored = [{"setWeight": 10}, {"pause": "2m"}, {"pause": "0"}, {"analysis": {"interval": "10s", "count": 2}}, {"pause": 30}]
    read = [RolloutStepPublic.model_validate(x).model_dump(by_alias=True, mode="json") for x in stored]
    assert read[:3] == [{"setWeight": 10}, {"pause": 120}, {"pause": 0}]
    assert read[3]["analysis"]["interval"] == 10 and read[3]["analysis"]["count"] == 2 and read[4] == {"pause": 30}
