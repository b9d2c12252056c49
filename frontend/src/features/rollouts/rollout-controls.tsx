import { useState } from "react";
import type { Options, RolloutsActionData } from "@/client";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { Button, type ButtonProps } from "@/components/ui/button";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { allowedControls, controlOutcome, CONTROLS, isFinishedRollout, type Rollout, type RolloutControl } from "./model";
import { CONTROL_ICONS, useRolloutAction, type RolloutActionMutation } from "./rollout-action";

const VARIANTS: Record<RolloutControl, ButtonProps["variant"]> = {
  pause: "outline",
  resume: "default",
  promote: "default",
  "promote-full": "outline",
  rollback: "destructive",
  abort: "outline",
};

/**
 * Pause / Resume / Promote / Promote to 100% / Roll back / Abort, each confirmed with a reason
 * (it goes to the audit log). Only for rollouts:promote holders, only the ones the status allows,
 * and none once the rollout finished. A refusal (409) stays in the dialog with the API's reason.
 */
export function RolloutControls({ rollout }: { rollout: Rollout }) {
  const mayPromote = useCan("rollouts:promote");
  const [open, setOpen] = useState<RolloutControl | null>(null);
  const action = useRolloutAction();

  if (!mayPromote) return null;
  const allowed = isFinishedRollout(rollout.status) ? [] : allowedControls(rollout.status);
  // An open dialog stays until closed, even if the rollout finishes meanwhile (the API then says so).
  if (!allowed.length && !open) return null;

  return (
    <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Rollout actions">
      {allowed.map((c) => {
        const Icon = CONTROL_ICONS[c];
        return (
          // Pause and Resume take turns in one place: one element, so a keyboard user who paused keeps focus on it
          <Button key={c === "resume" ? "pause" : c} variant={VARIANTS[c]} onClick={() => setOpen(c)} disabled={action.isPending} data-control={c}>
            <Icon aria-hidden="true" />
            {CONTROLS[c].label}
          </Button>
        );
      })}
      <RolloutActionDialog
        control={open}
        service={rollout.service}
        mutation={action}
        onClose={() => setOpen(null)}
        request={(c, reason) => {
          const meta = CONTROLS[c];
          return {
            path: { rollout_id: rollout.id },
            body: { action: meta.action, reason, ...(meta.full ? { full: true } : {}) },
          };
        }}
      />
    </div>
  );
}

interface RolloutActionDialogProps<C extends RolloutControl> {
  /** The control being confirmed; null keeps the dialog closed. */
  control: C | null;
  service: string;
  mutation: RolloutActionMutation;
  onClose: () => void;
  /** The request to send for the confirmed control, or null to send nothing. */
  request: (control: C, reason: string) => Options<RolloutsActionData> | null;
}

/**
 * Confirms a rollout control with a reason (it goes to the audit log), sends it and says how the
 * rollout stands in a toast. A refusal (409) stays in the dialog with the API's reason.
 */
export function RolloutActionDialog<C extends RolloutControl>({
  control,
  service,
  mutation,
  onClose,
  request,
}: RolloutActionDialogProps<C>) {
  const meta = control ? CONTROLS[control] : null;
  return (
    <ConfirmDialog
      open={meta !== null}
      onOpenChange={(o) => !o && onClose()}
      title={meta ? meta.question(service) : ""}
      description={meta?.description ?? ""}
      confirmLabel={meta?.label ?? ""}
      destructive={meta?.destructive}
      requireReason
      onConfirm={async (reason) => {
        if (!control || !meta) return;
        const vars = request(control, reason);
        if (!vars) return;
        const res = await mutation.mutateAsync(vars);
        toast({
          title: meta.done,
          description: controlOutcome(control, service, res),
          variant: "success",
        });
      }}
    />
  );
}
