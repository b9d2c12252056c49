"""Record the workflow histories that tests/test_workflow_compat.py replays (tests/data/histories).

Each recording runs some tests of one checkout — the commit before a `workflow.patched()` (found with
`git log -S`), or today's working tree — in a throwaway git worktree, with this repository's .venv, its
own Temporal dev server, Valkey and SQLite (the checkout's own fixtures start them). A pytest plugin
(scripts/history_recorder.py) saves the history of every workflow each test started; the histories
named below are copied into tests/data/histories with manifest.json saying where each came from and
which branch of which patch it takes.

    .venv/bin/python scripts/record_histories.py             # every recording
    .venv/bin/python scripts/record_histories.py current     # only the ones named

Record again when a workflow gains a patch (add a recording for the commit before it) or when a new
workflow type appears (add it to "current"). Histories of old commits never need re-recording: they
are what Temporal holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "histories"
SCENARIOS = ROOT / "scripts" / "history_scenarios.py"


@dataclass
class Keep:
    file: str  # name in tests/data/histories (without .json)
    test: str  # a part of the recording test's node id (its file and name, "::" written "_")
    workflow_type: str
    covers: str  # what this history exercises
    patches_old: list[str] = field(default_factory=list)  # patches whose old branch it takes
    patches_new: list[str] = field(default_factory=list)  # patches whose new branch it takes


@dataclass
class Recording:
    name: str
    before: str | None  # a string `git log -S` finds in the commit that introduced it; None: HEAD (commit first)
    tests: list[str]  # pytest arguments (files, -k)
    keep: list[Keep]


RECORDINGS = [
    Recording(
        "before-provenance",
        'patched("provenance-v1")',
        ["tests/test_runs.py", "-k", "dag_runs"],
        [Keep("run-succeeded-before-provenance", "test_dag_runs", "RunWorkflow", "a DAG run that succeeds", ["provenance-v1"])],
    ),
    Recording(
        "before-direct-audit",
        'patched("audit-direct-actions-v1")',
        ["tests/test_zz_history_scenarios.py", "-k", "direct_controls"],
        [
            Keep(
                "run-direct-controls-before-audit",
                "test_history_direct_controls",
                "RunWorkflow",
                "pause, resume and approve sent straight through Temporal",
                ["audit-direct-actions-v1", "control-tickets-v1"],
            )
        ],
    ),
    Recording(
        "before-tickets",
        "TICKETS_PATCH = ",
        [
            "tests/test_runs.py",
            "tests/test_rollouts.py",
            "tests/test_zz_history_scenarios.py",
            "-k",
            "approval_gate or pause_holds_the_weight or native_cancel",
        ],
        [
            Keep(
                "run-approved-before-tickets",
                "test_approval_gate",
                "RunWorkflow",
                "approve and reject through the API",
                ["control-tickets-v1"],
            ),
            Keep(
                "rollout-paused-before-tickets",
                "test_pause_holds_the_weight",
                "RolloutWorkflow",
                "pause, resume and promote through the API",
                ["control-tickets-v1"],
            ),
            Keep(
                "run-native-cancel-before-patch",
                "test_history_native_cancel",
                "RunWorkflow",
                "`temporal workflow cancel` while a step runs",
                ["native-cancel-v1"],
            ),
        ],
    ),
    Recording(
        "before-shellsafe-refusals",
        'patched("shellsafe-refusals-v1")',
        ["tests/test_zz_history_scenarios.py", "-k", "refused_command"],
        [
            Keep(
                "run-refused-command-before-refusals",
                "test_history_refused_command",
                "RunWorkflow",
                "a step `eval echo ${{ params.greeting }}`, run as it was then",
                ["shellsafe-refusals-v1"],
            )
        ],
    ),
    Recording(
        "before-typed-inputs",
        "class EvidenceInput",
        [
            "tests/test_rollouts.py",
            "tests/test_zz_history_scenarios.py",
            "-k",
            "history_evidence or rolled_back_automatically or resolving_source",
        ],
        [
            Keep(
                "evidence-before-typed-inputs",
                "test_history_evidence",
                "EvidenceWorkflow",
                "a witness bundle started with a bare bundle id, activities with positional arguments",
            ),
            Keep(
                "rollout-rolled-back-before-typed-inputs",
                "test_a_failing_canary",
                "RolloutWorkflow",
                "an analysis rolls the canary back; rollout_rolled_back with positional arguments",
            ),
            Keep(
                "run-cancel-resolving-source-before-patch",
                "test_history_cancel_while_resolving_source",
                "RunWorkflow",
                "`temporal workflow cancel` while the source is resolved (the run ended failed)",
                ["native-cancel-source-v1"],
            ),
        ],
    ),
    Recording(
        # the last commit with the v1 walk whose worker starts: the control worker registered
        # rollout_stuck (this needle) one commit before the workflow and the activity landed
        "before-outage-proof",
        "rollouts.stuck,",
        ["tests/test_rollouts.py", "-k", "controls_sent_straight or healthy_canary or rolled_back_automatically"],
        [
            Keep(
                "rollout-promoted-before-outage-proof",
                "test_a_healthy_canary",
                "RolloutWorkflow",
                "a canary walks to 100% (projections awaited in line, the v1 walk)",
                ["rollout-outage-proof-v2"],
                [],
            ),
            Keep(
                "rollout-rolled-back-before-outage-proof",
                "test_a_failing_canary",
                "RolloutWorkflow",
                "an analysis rolls the canary back (the v1 walk)",
                ["rollout-outage-proof-v2"],
                [],
            ),
            Keep(
                "rollout-direct-controls-before-outage-proof",
                "test_rollouts.py_test_controls_sent_straight",
                "RolloutWorkflow",
                "pause, resume and promote with tickets straight through Temporal (the v1 walk)",
                ["rollout-outage-proof-v2"],
                ["control-tickets-v1"],
            ),
        ],
    ),
    Recording(
        "current",
        None,
        [
            "tests/test_runs.py",
            "tests/test_rollouts.py",
            "tests/test_worker.py",
            "tests/test_zz_history_scenarios.py",
            "tests/test_rollout_outages.py",
            "-k",
            "dag_runs or approval_gate or test_a_native_temporal_cancel or source_is_resolved"
            " or controls_sent_straight or healthy_canary or rolled_back_automatically"
            " or history_evidence or diagnostics or refused_command"
            " or cancelling_the_workflow_from_temporal or promote_during_an_analysis_gate",
        ],
        [
            Keep("run-succeeded", "test_dag_runs", "RunWorkflow", "a DAG run that succeeds", [], ["provenance-v1"]),
            Keep(
                "run-approved",
                "test_approval_gate",
                "RunWorkflow",
                "approve and reject through the API",
                [],
                ["control-tickets-v1"],
            ),
            Keep(
                "run-direct-controls",
                "test_runs.py_test_controls_sent_straight",
                "RunWorkflow",
                "pause, resume and approve with tickets straight through Temporal",
                [],
                ["audit-direct-actions-v1", "control-tickets-v1"],
            ),
            Keep(
                "run-native-cancel",
                "test_a_native_temporal_cancel",
                "RunWorkflow",
                "`temporal workflow cancel` while a step runs",
                [],
                ["native-cancel-v1"],
            ),
            Keep(
                "run-cancel-resolving-source",
                "test_a_native_cancel_while_the_source",
                "RunWorkflow",
                "`temporal workflow cancel` while the source is resolved",
                [],
                ["native-cancel-source-v1"],
            ),
            Keep(
                "run-refused-command",
                "test_history_refused_command",
                "RunWorkflow",
                "a stored version whose step shellsafe refuses",
                [],
                ["shellsafe-refusals-v1"],
            ),
            Keep(
                "rollout-promoted",
                "test_a_healthy_canary",
                "RolloutWorkflow",
                "a canary walks to 100%",
                [],
                ["rollout-outage-proof-v2"],
            ),
            Keep(
                "rollout-rolled-back",
                "test_a_failing_canary",
                "RolloutWorkflow",
                "an analysis rolls the canary back",
                [],
                ["rollout-outage-proof-v2"],
            ),
            Keep(
                "rollout-native-cancel",
                "test_cancelling_the_workflow_from_temporal",
                "RolloutWorkflow",
                "`temporal workflow cancel` during a pause: an abort",
                [],
                ["rollout-outage-proof-v2"],
            ),
            Keep(
                "rollout-promote-during-analysis",
                "test_promote_during_an_analysis_gate",
                "RolloutWorkflow",
                "promote while an analysis runs, then promote --full at a pause",
                [],
                ["rollout-outage-proof-v2"],
            ),
            Keep(
                "rollout-direct-controls",
                "test_rollouts.py_test_controls_sent_straight",
                "RolloutWorkflow",
                "pause, resume and promote with tickets straight through Temporal",
                [],
                ["control-tickets-v1", "rollout-outage-proof-v2"],
            ),
            Keep("evidence", "test_history_evidence", "EvidenceWorkflow", "a witness bundle is built", [], []),
            Keep("alert-evaluator", "test_history_evidence", "AlertEvaluatorWorkflow", "one evaluation tick", [], []),
            Keep("diagnostics", "test_api_starts_diagnostics", "DiagnosticsWorkflow", "the diagnostics workflow", [], []),
        ],
    ),
    Recording(
        "budgets",
        None,
        ["tests/test_budgets.py", "-k", "slowdown or threshold_alerts"],
        [
            Keep(
                "budget-freeze-controls",
                "test_threshold_alerts",
                "BudgetWorkflow",
                "thresholds fire, a breach freezes, unfreeze/freeze/raise-cap updates (and their refusals)",
                [],
                [],
            ),
            Keep(
                "budget-slowdown-permits",
                "test_slowdown",
                "BudgetWorkflow",
                "a breach slows the scope down; run permits granted at the slowdown's rate",
                [],
                [],
            ),
        ],
    ),
]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def commit_before(needle: str) -> str:
    introduced = git("log", "--format=%H", "-S", needle, "--", "maestro").splitlines()
    if not introduced:
        raise SystemExit(f"no commit introduces {needle!r}")
    return git("rev-parse", f"{introduced[-1]}^")


def record(rec: Recording, manifest: dict[str, dict[str, object]]) -> None:
    commit = commit_before(rec.before) if rec.before else git("rev-parse", "HEAD")
    work = Path(tempfile.mkdtemp(prefix=f"maestro-replay-{rec.name}-"))
    tree = work / "tree"
    raw = work / "histories"
    scenario = tree / "tests" / "test_zz_history_scenarios.py"
    try:
        git("worktree", "add", "--detach", str(tree), commit)
        shutil.copy(SCENARIOS, scenario)
        env = {**os.environ, "MAESTRO_HISTORY_OUT": str(raw), "PYTHONPATH": f"{tree}{os.pathsep}{ROOT / 'scripts'}"}
        print(f"== {rec.name}: {commit[:12]} {' '.join(rec.tests)}", flush=True)
        cmd = [sys.executable, "-m", "pytest", "-p", "history_recorder", "-p", "no:cacheprovider", "-q", *rec.tests]
        subprocess.run(cmd, cwd=tree, env=env, check=False)
        index = [json.loads(line) for line in (raw / "index.jsonl").read_text().splitlines()]
        for k in rec.keep:
            found = [e for e in index if k.test in e["test"] and e["workflow_type"] == k.workflow_type]
            if not found:
                raise SystemExit(f"{rec.name}: no {k.workflow_type} history from a test {k.test}*")
            e = found[0]
            shutil.copy(raw / e["test"] / f"{e['workflow_id']}.json", OUT / f"{k.file}.json")
            manifest[k.file] = {
                "workflow_id": e["workflow_id"],
                "workflow_type": k.workflow_type,
                "recorded_at": commit[:12],
                "recorded_by": e["test"],
                "covers": k.covers,
                "patches_old_branch": k.patches_old,
                "patches_new_branch": k.patches_new,
            }
            print(f"   kept {k.file}.json ({e['workflow_id']}, {e['status']})", flush=True)
    finally:
        if tree.exists():
            git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(work, ignore_errors=True)


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "manifest.json"
    manifest: dict[str, dict[str, object]] = json.loads(path.read_text()) if path.exists() else {}
    unknown = set(names) - {r.name for r in RECORDINGS}
    if unknown:
        raise SystemExit(f"unknown recordings: {sorted(unknown)} (known: {[r.name for r in RECORDINGS]})")
    for rec in RECORDINGS:
        if not names or rec.name in names:
            record(rec, manifest)
            path.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
