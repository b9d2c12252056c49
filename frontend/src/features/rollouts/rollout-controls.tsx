import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ArrowUpIcon, ChevronsUpIcon, OctagonXIcon, PauseIcon, PlayIcon, Undo2Icon, type LucideIcon } from "lucide-react";
import { useState } from "react";
import { rolloutsActionMutation } from "@/client/@tanstack/react-query.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { Button, type ButtonProps } from "@/components/ui/button";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { allowedControls, CONTROLS, isFinishedRollout, type Rollout, type RolloutControl } from "./model";
import { invalidateRollout, invalidateRolloutLists, invalidateServices } from "./queries";

const ICONS: Record<RolloutControl, LucideIcon> = {
  pause: PauseIcon,
  resume: PlayIcon,
  promote: ArrowUpIcon,
  "promote-full": ChevronsUpIcon,
  rollback: Undo2Icon,
  abort: OctagonXIcon,
};

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
  const queryClient = useQueryClient();
  const [open, setOpen] = useState<RolloutControl | null>(null);
  const action = useMutation({
    ...rolloutsActionMutation(),
    onSettled: () => {
      void invalidateRollout(queryClient, rollout.id);
      void invalidateRolloutLists(queryClient);
      void invalidateServices(queryClient);
    },
  });

  if (!mayPromote) return null;
  const allowed = isFinishedRollout(rollout.status) ? [] : allowedControls(rollout.status);
  // An open dialog stays until closed, even if the rollout finishes meanwhile (the API then says so).
  if (!allowed.length && !open) return null;
  const meta = open ? CONTROLS[open] : null;

  return (
    <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Rollout actions">
      {allowed.map((c) => {
        const Icon = ICONS[c];
        return (
          <Button key={c} variant={VARIANTS[c]} onClick={() => setOpen(c)} disabled={action.isPending} data-control={c}>
            <Icon aria-hidden="true" />
            {CONTROLS[c].label}
          </Button>
        );
      })}
      <ConfirmDialog
        open={meta !== null}
        onOpenChange={(o) => !o && setOpen(null)}
        title={meta ? meta.question(rollout.service) : ""}
        description={meta?.description ?? ""}
        confirmLabel={meta?.label ?? ""}
        destructive={meta?.destructive}
        requireReason
        onConfirm={async (reason) => {
          if (!meta) return;
          const res = await action.mutateAsync({
            path: { rollout_id: rollout.id },
            body: { action: meta.action, reason, ...(meta.full ? { full: true } : {}) },
          });
          toast({
            title: meta.done,
            description: `${rollout.service}: ${res.status.replace(/_/g, " ")}, canary at ${res.weight}%.`,
            variant: "success",
          });
        }}
      />
    </div>
  );
}
