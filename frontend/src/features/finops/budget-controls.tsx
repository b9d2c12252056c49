import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";
import {
  budgetsDeleteMutation,
  budgetsFreezeMutation,
  budgetsRaiseCapMutation,
  budgetsUnfreezeMutation,
} from "@/client/@tanstack/react-query.gen";
import { useEnvHref } from "@/lib/env";
import type { BudgetPublic } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { toast } from "@/lib/toast";
import { formatUsd } from "./model";
import { invalidateBudgets } from "./queries";

type Budget = Pick<BudgetPublic, "id" | "name" | "frozen" | "capUsd" | "capTokens">;

/**
 * Freeze or unfreeze one budget, with a reason (audited and in the budget's history). The
 * workflow may refuse (e.g. already frozen): its 409 reason shows in the dialog.
 */
export function FreezeToggleDialog({ budget, open, onOpenChange }: { budget: Budget; open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const freezing = !budget.frozen;
  const freeze = useMutation({ ...budgetsFreezeMutation(), onSettled: () => invalidateBudgets(queryClient) });
  const unfreeze = useMutation({ ...budgetsUnfreezeMutation(), onSettled: () => invalidateBudgets(queryClient) });
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      title={freezing ? `Freeze budget ${budget.name}?` : `Unfreeze budget ${budget.name}?`}
      description={
        freezing
          ? "New runs and gateway requests in the budget's scope are refused until it is unfrozen."
          : "Runs and gateway requests in the budget's scope start again at once, for the rest of the period."
      }
      confirmLabel={freezing ? "Freeze" : "Unfreeze"}
      destructive={freezing}
      requireReason
      reasonHint="Recorded in the audit log and the budget's history."
      onConfirm={async (reason) => {
        const options = { path: { budget_id: budget.id }, body: { reason } };
        if (freezing) await freeze.mutateAsync(options);
        else await unfreeze.mutateAsync(options);
        toast({
          title: freezing ? "Budget frozen" : "Budget unfrozen",
          description: freezing ? `Runs in ${budget.name}'s scope are refused.` : `Runs in ${budget.name}'s scope start again.`,
          variant: "success",
        });
      }}
    />
  );
}

/** The freeze or unfreeze button with its dialog. */
export function FreezeButton({ budget, size = "sm" }: { budget: Budget; size?: "sm" | "default" }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button
        size={size}
        variant={budget.frozen ? "default" : "outline"}
        onClick={() => setOpen(true)}
        aria-label={`${budget.frozen ? "Unfreeze" : "Freeze"} budget ${budget.name}`}
      >
        {budget.frozen ? "Unfreeze" : "Freeze"}
      </Button>
      <FreezeToggleDialog budget={budget} open={open} onOpenChange={setOpen} />
    </>
  );
}

/** Raise the USD and/or token cap; thresholds no longer reached re-arm (the workflow decides). */
export function RaiseCapDialog({ budget, open, onOpenChange }: { budget: Budget; open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const [capUsd, setCapUsd] = useState(budget.capUsd ? String(budget.capUsd) : "");
  const [capTokens, setCapTokens] = useState(budget.capTokens ? String(budget.capTokens) : "");
  const raise = useMutation({ ...budgetsRaiseCapMutation(), onSettled: () => invalidateBudgets(queryClient) });
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      title={`Raise the cap of ${budget.name}`}
      description={`Now ${budget.capUsd !== null ? formatUsd(budget.capUsd) : "no USD cap"}${budget.capTokens ? ` and ${budget.capTokens} tokens` : ""}. Thresholds and actions the new cap no longer reaches re-arm; an automatic freeze it no longer justifies is lifted.`}
      confirmLabel="Raise cap"
      requireReason
      onConfirm={async (reason) => {
        const usd = capUsd.trim() ? Number(capUsd) : null;
        const tokens = capTokens.trim() ? Number(capTokens) : null;
        if ((usd !== null && !(usd > 0)) || (tokens !== null && !(Number.isInteger(tokens) && tokens > 0)) || (usd === null && tokens === null)) {
          throw new Error("Give a positive USD cap, a positive whole token cap, or both.");
        }
        await raise.mutateAsync({ path: { budget_id: budget.id }, body: { reason, capUsd: usd, capTokens: tokens } });
        toast({ title: "Cap raised", description: `${budget.name}: ${usd !== null ? formatUsd(usd) : ""}${tokens ? ` ${tokens} tokens` : ""}`, variant: "success" });
      }}
    >
      <div className="grid gap-3 sm:grid-cols-2">
        <FormField label="New cap (USD)">
          {(p) => <Input {...p} type="number" inputMode="decimal" min={0} step="any" value={capUsd} onChange={(e) => setCapUsd(e.target.value)} />}
        </FormField>
        <FormField label="New cap (tokens)">
          {(p) => <Input {...p} type="number" inputMode="numeric" min={0} step={1} value={capTokens} onChange={(e) => setCapTokens(e.target.value)} />}
        </FormField>
      </div>
    </ConfirmDialog>
  );
}

/**
 * Delete a budget, with a reason: its workflow lifts what it applied (freeze, slowdown, downgrade),
 * resolves its alerts and ends; the history and audit entries stay.
 */
export function DeleteBudgetDialog({ budget, open, onOpenChange }: { budget: Budget; open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  const remove = useMutation({ ...budgetsDeleteMutation(), onSettled: () => invalidateBudgets(queryClient) });
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      title={`Delete budget ${budget.name}?`}
      description="Its freeze, slowdown and downgrade are lifted at once and its alerts resolve. The budget's history and audit entries stay."
      confirmLabel="Delete budget"
      destructive
      requireReason
      onConfirm={async (reason) => {
        await remove.mutateAsync({ path: { budget_id: budget.id }, query: { reason } });
        toast({ title: "Budget deleted", description: budget.name, variant: "success" });
        navigate(href("/finops"));
      }}
    />
  );
}
