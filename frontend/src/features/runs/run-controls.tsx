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

type Dialog = "cancel" | "approve" | "reject" | null;

/**
 * Cancel, pause/resume, approve/reject (with reason), rerun, rerun-failed — for holders of
 * runs:write; Promote… (a canary rollout of a succeeded run) also needs rollouts:promote.
 */
export function RunControls({ run }: { run: RunDetail }) {
  const mayAct = useCan("runs:write");
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  const [dialog, setDialog] = useState<Dialog>(null);
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
        <Button onClick={() => setDialog("approve")} disabled={busy}>
          <CheckIcon aria-hidden="true" /> Approve…
        </Button>
      ) : null}
      {allowed.has("reject") ? (
        <Button variant="outline" onClick={() => setDialog("reject")} disabled={busy}>
          <XIcon aria-hidden="true" /> Reject…
        </Button>
      ) : null}
      {allowed.has("pause") ? (
        <Button variant="outline" onClick={() => void quick("pause")} disabled={busy}>
          <PauseIcon aria-hidden="true" /> Pause
        </Button>
      ) : null}
      {allowed.has("resume") ? (
        <Button variant="outline" onClick={() => void quick("resume")} disabled={busy}>
          <PlayIcon aria-hidden="true" /> Resume
        </Button>
      ) : null}
      {allowed.has("cancel") ? (
        <Button variant="destructive" onClick={() => setDialog("cancel")} disabled={busy}>
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
        open={dialog === "cancel"}
        onOpenChange={(o) => !o && setDialog(null)}
        title={`Cancel ${title}?`}
        description="Running steps are stopped (their whole process group is killed) and no further step starts."
        confirmLabel="Cancel run"
        destructive
        requireReason
        onConfirm={async (reason) => {
          const res = await send("cancel", reason);
          toast({ title: "Run cancelled", description: res.detail || title, variant: "success" });
        }}
      />
      <ConfirmDialog
        open={dialog === "approve"}
        onOpenChange={(o) => !o && setDialog(null)}
        title={`Approve ${title}?`}
        description="The approval gate opens and the steps after it start. Your name and reason are recorded."
        confirmLabel="Approve"
        requireReason
        onConfirm={async (reason) => {
          await send("approve", reason, chosenGate || undefined);
          toast({ title: "Approved", description: `${title}: the pipeline continues.`, variant: "success" });
        }}
      >
        {gatePicker}
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === "reject"}
        onOpenChange={(o) => !o && setDialog(null)}
        title={`Reject ${title}?`}
        description="The approval gate fails, and with it the run. Your name and reason are recorded."
        confirmLabel="Reject"
        destructive
        requireReason
        onConfirm={async (reason) => {
          await send("reject", reason, chosenGate || undefined);
          toast({ title: "Rejected", description: `${title} stops at the gate.`, variant: "success" });
        }}
      >
        {gatePicker}
      </ConfirmDialog>
    </div>
  );
}
