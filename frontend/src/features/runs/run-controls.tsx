import { useMutation, useQueryClient } from "@tanstack/react-query";
import { BanIcon, CheckIcon, PauseIcon, PlayIcon, RotateCcwIcon, RotateCwIcon, XIcon } from "lucide-react";
import { useId, useState } from "react";
import { useNavigate } from "react-router";
import { runsActionMutation } from "@/client/@tanstack/react-query.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { useEnvHref } from "@/lib/env";
import { toast, toastError } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { PromoteRunButton } from "@/features/rollouts/promote-run-dialog";
import { allowedActions, invalidateRun, invalidateRunLists, type RunAction, type RunDetail } from "./queries";

type Action = RunAction;

type Confirmed = "cancel" | "approve" | "reject";

interface ConfirmSpec {
  /** The dialog's title is `${verb} ${pipeline} #${number}?`. */
  verb: string;
  description: string;
  confirmLabel: string;
  destructive: boolean;
  /** Approve and reject act on a waiting approval step (picked in the dialog when several wait). */
  gate: boolean;
  /** The success toast, from the run's title and the API's `detail`. */
  done: (title: string, detail: string | undefined) => { title: string; description: string };
}

/** The run actions confirmed with a reason (it goes to the audit log). */
const CONFIRMS: Record<Confirmed, ConfirmSpec> = {
  cancel: {
    verb: "Cancel",
    description: "Running steps are stopped (their whole process group is killed) and no further step starts.",
    confirmLabel: "Cancel run",
    destructive: true,
    gate: false,
    done: (title, detail) => ({ title: "Run cancelled", description: detail || title }),
  },
  approve: {
    verb: "Approve",
    description: "The approval gate opens and the steps after it start. Your name and reason are recorded.",
    confirmLabel: "Approve",
    destructive: false,
    gate: true,
    done: (title) => ({ title: "Approved", description: `${title}: the pipeline continues.` }),
  },
  reject: {
    verb: "Reject",
    description: "The approval gate fails, and with it the run. Your name and reason are recorded.",
    confirmLabel: "Reject",
    destructive: true,
    gate: true,
    done: (title) => ({ title: "Rejected", description: `${title} stops at the gate.` }),
  },
};

/**
 * Cancel, pause/resume, approve/reject (with reason), rerun, rerun-failed — for holders of
 * runs:write; Promote… (a canary rollout of a succeeded run) also needs rollouts:promote.
 */
export function RunControls({ run }: { run: RunDetail }) {
  const mayAct = useCan("runs:write");
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  // which dialog, and whether it is open: kept apart so the closing dialog keeps its words while it fades
  const [dialog, setDialog] = useState<Confirmed>("cancel");
  const [open, setOpen] = useState(false);
  const ask = (which: Confirmed) => {
    setDialog(which);
    setOpen(true);
  };
  const waiting = run.steps.filter((s) => s.status === "waiting");
  const [gate, setGate] = useState<string>("");
  const gateId = useId();
  const action = useMutation({
    ...runsActionMutation(),
    onSettled: () => {
      void invalidateRun(queryClient, run.id);
      void invalidateRunLists(queryClient);
    },
  });

  if (!mayAct) return null;
  const allowed = allowedActions(run);
  const chosenGate = waiting.some((s) => s.key === gate) ? gate : (waiting[0]?.key ?? "");
  const title = `${run.pipelineName} #${run.number}`;
  const confirm = CONFIRMS[dialog];

  const send = (act: Action, reason = "", step?: string) =>
    action.mutateAsync({ path: { run_id: run.id }, body: { action: act, reason, ...(step ? { step } : {}) } });

  /** Actions without a dialog: refusals (409) show the API's reason in a toast. */
  async function quick(act: Action) {
    try {
      const res = await send(act);
      if (act === "rerun" || act === "rerun-failed") {
        toast({
          title: act === "rerun" ? "Rerun started" : "Rerun of the failed steps started",
          description: `${res.run.pipelineName} #${res.run.number}`,
          variant: "success",
        });
        if (res.detail) navigate(href(`/runs/${res.detail}`));
      } else {
        toast({ title: act === "pause" ? "Run paused" : "Run resumed", description: res.detail || title, variant: "success" });
      }
    } catch (e) {
      toastError(e, `Could not ${act} the run`);
    }
  }

  const busy = action.isPending;
  const gatePicker =
    waiting.length > 1 ? (
      <div className="grid gap-2">
        <Label htmlFor={gateId}>Approval step</Label>
        <NativeSelect id={gateId} value={chosenGate} onChange={(e) => setGate(e.target.value)}>
          {waiting.map((s) => (
            <option key={s.key} value={s.key}>
              {s.name || s.key}
            </option>
          ))}
        </NativeSelect>
      </div>
    ) : waiting.length === 1 ? (
      <p className="text-sm">
        Step: <span className="font-medium">{waiting[0].name || waiting[0].key}</span>
        {waiting[0].message ? <span className="block text-muted-foreground">{waiting[0].message}</span> : null}
      </p>
    ) : null;

  return (
    <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Run actions">
      {allowed.has("approve") ? (
        <Button onClick={() => ask("approve")} disabled={busy}>
          <CheckIcon aria-hidden="true" /> Approve…
        </Button>
      ) : null}
      {allowed.has("reject") ? (
        <Button variant="outline" onClick={() => ask("reject")} disabled={busy}>
          <XIcon aria-hidden="true" /> Reject…
        </Button>
      ) : null}
      {allowed.has("pause") || allowed.has("resume") ? (
        // Pause and Resume take turns in one place: one element, so a keyboard user who paused keeps focus on it
        <Button
          key="pause-resume"
          variant="outline"
          onClick={() => void quick(allowed.has("pause") ? "pause" : "resume")}
          disabled={busy}
          data-control={allowed.has("pause") ? "pause" : "resume"}
        >
          {allowed.has("pause") ? <PauseIcon aria-hidden="true" /> : <PlayIcon aria-hidden="true" />}
          {allowed.has("pause") ? " Pause" : " Resume"}
        </Button>
      ) : null}
      {allowed.has("cancel") ? (
        <Button variant="destructive" onClick={() => ask("cancel")} disabled={busy}>
          <BanIcon aria-hidden="true" /> Cancel run…
        </Button>
      ) : null}
      {allowed.has("rerun-failed") ? (
        <Button onClick={() => void quick("rerun-failed")} disabled={busy}>
          <RotateCcwIcon aria-hidden="true" /> Rerun failed steps
        </Button>
      ) : null}
      <PromoteRunButton run={run} />
      {allowed.has("rerun") ? (
        <Button variant="outline" onClick={() => void quick("rerun")} disabled={busy}>
          <RotateCwIcon aria-hidden="true" /> Rerun
        </Button>
      ) : null}

      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={`${confirm.verb} ${title}?`}
        description={confirm.description}
        confirmLabel={confirm.confirmLabel}
        destructive={confirm.destructive}
        requireReason
        onConfirm={async (reason) => {
          const res = await send(dialog, reason, confirm.gate ? chosenGate || undefined : undefined);
          toast({ ...confirm.done(title, res.detail), variant: "success" });
        }}
      >
        {confirm.gate ? gatePicker : null}
      </ConfirmDialog>
    </div>
  );
}
