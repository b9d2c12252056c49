"""RolloutWorkflow's own logic where the real world is hard to time: the workflow runs on the dev server
with scripted activities (a provider that refuses weight 0, a slow measurement, a slow database), so a
cancel or a control lands exactly in the window under test. The real activities are tested end to end
in test_rollouts, test_rollout_outages and test_haproxy; here only their timing is scripted."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.worker import Worker

from maestro.rollouts.types import (
    Analysis,
    ApplyInput,
    ControlInput,
    GateRolloutInput,
    GateRolloutResult,
    MeasureInput,
    Measurement,
    ProjectInput,
    RolledBackInput,
    RolloutInput,
    RolloutState,
    Step,
    StuckInput,
)
from maestro.shared import Redeemed, RedeemInput
from maestro.workflows.rollout import RolloutWorkflow


@dataclass
class Script:
    """How the scripted activities behave, and what they were asked to do."""

    measure_s: float = 0.0  # how long a measurement takes
    measure_value: float | None = 0.0  # None: no answer (metrics down)
    project_s: float = 0.0  # how long the database takes
    refuse_zero: int = 0  # weight 0 on stable is refused this many times (the provider is down)
    refuse_all: bool = False  # every weight is refused (the provider is down)
    applied: list[tuple[int, str | None]] = field(default_factory=list)
    projected: list[tuple[str, str, str]] = field(default_factory=list)  # (event, status, message)
    stuck: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


SCRIPT = Script()


@activity.defn(name="rollout_apply")
def apply(inp: ApplyInput) -> None:
    with SCRIPT.lock:
        if SCRIPT.refuse_all:
            raise RuntimeError("provider down")
        if inp.canary_url is None and SCRIPT.refuse_zero > 0:
            SCRIPT.refuse_zero -= 1
            raise RuntimeError("provider down")
        SCRIPT.applied.append((inp.weight, inp.canary_url))


@activity.defn(name="rollout_measure")
def measure(inp: MeasureInput) -> Measurement:
    time.sleep(SCRIPT.measure_s)
    v = SCRIPT.measure_value
    return Measurement(v, 100 if v is not None else 0, "scripted" if v is not None else "measurement failed: metrics down")


@activity.defn(name="rollout_project")
def project(inp: ProjectInput) -> None:
    time.sleep(SCRIPT.project_s)
    with SCRIPT.lock:
        SCRIPT.projected.append((inp.event, inp.status, inp.message))


@activity.defn(name="rollout_stuck")
def stuck(inp: StuckInput) -> None:
    SCRIPT.stuck.append(inp.stuck)


@activity.defn(name="rollout_rolled_back")
def rolled_back(inp: RolledBackInput) -> None:
    pass


@activity.defn(name="rollout_gate")
def gate(inp: GateRolloutInput) -> GateRolloutResult:
    return GateRolloutResult(allowed=True)


@activity.defn(name="redeem_control_ticket")
def redeem(inp: RedeemInput) -> Redeemed:
    return Redeemed(actor="alice", via="api")


WHO = ControlInput(by="alice", reason="scripted", ticket="ticket")


def analysis(count: int, **kw: Any) -> Step:
    return Step(analysis=Analysis(interval_s=0.2, count=count, **kw))


def run(
    temporal_address: str, steps: list[Step], body: Callable[[WorkflowHandle[Any, Any]], Awaitable[None]], **inp: Any
) -> None:
    async def main() -> None:
        client = await Client.connect(temporal_address)
        queue = f"logic-{uuid.uuid4().hex[:8]}"
        activities: list[Callable[..., Any]] = [apply, measure, project, stuck, rolled_back, gate, redeem]
        async with Worker(
            client, task_queue=queue, workflows=[RolloutWorkflow], activities=activities, activity_executor=ThreadPoolExecutor(8)
        ):
            rollout = RolloutInput(
                rollout_id="r1",
                tenant_id="t",
                service="shop",
                stable_url="http://stable:80",
                canary_url="http://canary:80",
                sticky=None,
                env="prod",
                run_id=None,
                steps=steps,
                **inp,
            )
            handle = await client.start_workflow("RolloutWorkflow", rollout, id=f"rollout-{queue}", task_queue=queue)
            await body(handle)

    asyncio.run(main())


@pytest.fixture(autouse=True)
def script() -> Script:
    global SCRIPT
    SCRIPT = Script()
    return SCRIPT


async def state(h: WorkflowHandle[Any, Any]) -> RolloutState:
    return await h.query(RolloutWorkflow.get_state)


async def until(pred: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await pred():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.1)


def test_a_cancel_during_a_measurement_aborts(temporal_address: str, script: Script) -> None:
    script.measure_s = 3.0

    async def body(h: WorkflowHandle[Any, Any]) -> None:
        await until(lambda: _measuring(h))
        await h.cancel()
        assert await h.result() == "aborted"
        s = await state(h)
        assert s.weight == 0 and s.history[-1]["action"] == "abort" and s.history[-1]["by"] == "temporal:native-cancel"
        assert script.applied[-1] == (0, None)  # all traffic on stable
        assert (await h.describe()).status == WorkflowExecutionStatus.COMPLETED

    run(temporal_address, [Step(set_weight=10), analysis(20)], body)


async def _measuring(h: WorkflowHandle[Any, Any]) -> bool:
    return any(e == "rollout_step" for e, _, _ in SCRIPT.projected[2:]) and (await state(h)).weight == 10


def test_a_cancel_while_rolling_back_still_moves_traffic_to_stable(temporal_address: str, script: Script) -> None:
    script.refuse_zero = 12  # more than one try's attempts: the rollout is stuck a while

    async def body(h: WorkflowHandle[Any, Any]) -> None:
        await until(lambda: _status(h, "paused"))
        up = await h.start_update(RolloutWorkflow.rollback, WHO, wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        answer = await up.result()
        assert answer.status == "rolling_back"  # stuck: Maestro keeps trying
        assert script.stuck == [True]
        await h.cancel()  # must not end the workflow with traffic on the canary
        assert await h.result() == "rolled_back"
        assert script.applied[-1] == (0, None) and script.stuck == [True, False]
        assert (await h.describe()).status == WorkflowExecutionStatus.COMPLETED

    run(temporal_address, [Step(set_weight=30), Step(pause_s=0)], body)


def test_an_abort_while_the_provider_is_down_answers_rolling_back_and_finishes_when_it_is_back(
    temporal_address: str, script: Script
) -> None:
    """The very first weight cannot be applied (the provider is down): an abort does not wait out the
    walk's retries; it answers `rolling_back` (RolloutStuck fired) and ends once the provider answers."""
    script.refuse_all = True

    async def body(h: WorkflowHandle[Any, Any]) -> None:
        await until(lambda: _projected_nothing_applied(h))
        answer = await asyncio.wait_for(h.execute_update(RolloutWorkflow.abort, WHO), 60)
        assert answer.status == "rolling_back", answer
        assert script.stuck == [True] and script.applied == []
        script.refuse_all = False
        assert await h.result() == "aborted"
        assert script.applied == [(0, None)] and script.stuck == [True, False]

    run(temporal_address, [Step(set_weight=30), Step(pause_s=0)], body)


async def _projected_nothing_applied(h: WorkflowHandle[Any, Any]) -> bool:
    return (await state(h)).status == "running" and not SCRIPT.applied


def test_controls_are_refused_while_rolling_back(temporal_address: str, script: Script) -> None:
    script.refuse_zero = 1000

    async def body(h: WorkflowHandle[Any, Any]) -> None:
        await until(lambda: _status(h, "paused"))
        answer = await h.execute_update(RolloutWorkflow.rollback, WHO)
        assert answer.status == "rolling_back"
        for control in (RolloutWorkflow.promote, RolloutWorkflow.resume, RolloutWorkflow.abort, RolloutWorkflow.rollback):
            with pytest.raises(WorkflowUpdateFailedError) as e:
                await h.execute_update(control, WHO)
            assert "the rollout is rolling back" in str(e.value.cause), e.value.cause
        s = await state(h)
        assert s.status == "rolling_back" and [x["action"] for x in s.history] == ["rollback"]
        await h.terminate()

    run(temporal_address, [Step(set_weight=30), Step(pause_s=0)], body)


def test_a_rollback_while_continuing_as_new_waits_for_a_slow_database_is_carried_out(
    temporal_address: str, script: Script
) -> None:
    script.project_s = 1.0  # every projection takes a second: the continue-as-new point waits for them

    async def body(h: WorkflowHandle[Any, Any]) -> None:
        async def long_enough() -> bool:
            d = await h.describe()
            return (d.raw_description.workflow_execution_info.history_length or 0) >= 100

        await until(long_enough, 120)
        answer = await asyncio.wait_for(h.execute_update(RolloutWorkflow.rollback, WHO), 120)
        assert answer.status == "rolled_back"
        assert script.applied[-1] == (0, None)

    run(temporal_address, [Step(set_weight=10), analysis(100)], body, continue_after_events=100)


def test_an_outage_over_a_whole_analysis_pauses_instead_of_promoting(temporal_address: str, script: Script) -> None:
    script.measure_value = None  # metrics are down the whole time; the limit tolerates every measurement

    async def body(h: WorkflowHandle[Any, Any]) -> None:
        await until(lambda: _status(h, "paused"))
        s = await state(h)
        assert s.weight == 20 and s.step_index == 1
        assert all(w != 100 for w, _ in script.applied)

        async def said_why() -> bool:  # the projection reaches SQL a moment after the workflow's state
            return any(e == "rollout_paused" and "without a passing measurement" in m for e, _, m in script.projected)

        await until(said_why)
        # metrics are back: resume measures again and the rollout goes on
        script.measure_value = 0.0
        await h.execute_update(RolloutWorkflow.resume, WHO)
        assert await h.result() == "succeeded"
        assert (100, "http://canary:80") in script.applied

    run(temporal_address, [Step(set_weight=20), analysis(3, inconclusive_limit=10), Step(set_weight=100)], body)


async def _status(h: WorkflowHandle[Any, Any], status: str) -> bool:
    return (await state(h)).status == status
