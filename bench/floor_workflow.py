"""Baseline for bench/runs.py: Temporal's own cost of a chain of no-op activities on another queue."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def bench_noop(i: int) -> int:
    return i


@workflow.defn(name="BenchActivityChain")
class BenchActivityChain:
    @workflow.run
    async def run(self, args: list[str]) -> int:
        n, queue = int(args[0]), args[1]
        for i in range(n):
            await workflow.execute_activity("bench_noop", i, task_queue=queue, start_to_close_timeout=timedelta(seconds=30))
        return n
