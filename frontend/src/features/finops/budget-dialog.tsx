import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { PlusIcon, Trash2Icon } from "lucide-react";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { budgetsCreateMutation } from "@/client/@tanstack/react-query.gen";
import type { BudgetPublic } from "@/client/types.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import type { FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { apiFieldErrors, applyTier, buildBudgetBody, emptyDraft, SCOPE_DIMS, type ActionDraft, type BudgetDraft } from "./model";
import { invalidateBudgets, tiersQueryOptions } from "./queries";

const KNOWN_FIELDS = /^(name|description|tier|period|capUsd|capTokens|thresholds|scope\..*|actions(\..*)?)$/;
const SCOPE_LABELS = { project: "Project", env: "Environment", pipeline: "Pipeline", provider: "Model provider", model: "Model" } as const;

export function BudgetDialog({ open, onOpenChange, onSaved }: { open: boolean; onOpenChange: (open: boolean) => void; onSaved?: (b: BudgetPublic) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {/* Mounted only while open: every opening starts empty. */}
      {open ? <BudgetForm onDone={() => onOpenChange(false)} onSaved={onSaved} /> : null}
    </Dialog>
  );
}

function ActionRow({
  index,
  value,
  errors,
  onChange,
  onRemove,
}: {
  index: number;
  value: ActionDraft;
  errors: FieldErrors;
  onChange: (next: ActionDraft) => void;
  onRemove: () => void;
}) {
  const err = (k: string) => errors[`actions.${index}.${k}`];
  return (
    <fieldset className="grid gap-3 rounded-md border p-3" data-testid="action-row">
      <legend className="px-1 text-sm font-medium">Action {index + 1}</legend>
      <div className="grid gap-3 sm:grid-cols-3">
        <FormField label="Kind" error={err("kind") ?? errors[`actions.${index}`]}>
          {(p) => (
            <NativeSelect {...p} value={value.kind} onChange={(e) => onChange({ ...value, kind: e.target.value as ActionDraft["kind"] })}>
              <option value="notify">Notify</option>
              <option value="freeze">Freeze</option>
              <option value="slowdown">Slow down</option>
              <option value="downgrade">Downgrade routing</option>
            </NativeSelect>
          )}
        </FormField>
        <FormField label="At % of the cap" error={err("atPercent")}>
          {(p) => (
            <Input {...p} type="number" inputMode="numeric" min={1} max={1000} step={1} value={value.atPercent} onChange={(e) => onChange({ ...value, atPercent: e.target.value })} />
          )}
        </FormField>
        {value.kind === "slowdown" ? (
          <FormField label="Runs per minute" error={err("permitsPerMinute")}>
            {(p) => (
              <Input
                {...p}
                type="number"
                inputMode="numeric"
                min={1}
                step={1}
                value={value.permitsPerMinute}
                onChange={(e) => onChange({ ...value, permitsPerMinute: e.target.value })}
              />
            )}
          </FormField>
        ) : null}
        {value.kind === "downgrade" ? (
          <FormField label="Routing classes" error={err("classes")} hint="Comma-separated; each needs a downgrade path.">
            {(p) => <Input {...p} value={value.classes} onChange={(e) => onChange({ ...value, classes: e.target.value })} autoComplete="off" />}
          </FormField>
        ) : null}
      </div>
      <div>
        <Button variant="ghost" size="sm" onClick={onRemove} aria-label={`Remove action ${index + 1}`}>
          <Trash2Icon aria-hidden="true" />
          Remove
        </Button>
      </div>
    </fieldset>
  );
}

function BudgetForm({ onDone, onSaved }: { onDone: () => void; onSaved?: (b: BudgetPublic) => void }) {
  const queryClient = useQueryClient();
  const tiers = useQuery(tiersQueryOptions());
  const [draft, setDraft] = useState<BudgetDraft>(emptyDraft);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [checked, setChecked] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  const forecastId = useId();

  useEffect(() => {
    if (!checked) return;
    formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [checked]);

  const save = useMutation({
    ...budgetsCreateMutation(),
    onSuccess: (b) => {
      toast({ title: "Budget created", description: `${b.name}: its workflow tracks spend from now on.`, variant: "success" });
      onSaved?.(b);
      onDone();
    },
    onError: (e) => {
      setErrors(apiFieldErrors(e));
      setChecked((n) => n + 1);
    },
    onSettled: () => invalidateBudgets(queryClient),
  });

  const set = <K extends keyof BudgetDraft>(key: K, value: BudgetDraft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const setAction = (i: number, next: ActionDraft) => setDraft((d) => ({ ...d, actions: d.actions.map((a, j) => (j === i ? next : a)) }));

  function submit(e: FormEvent) {
    e.preventDefault();
    const { body, errors: local } = buildBudgetBody(draft);
    setErrors(local);
    if (Object.keys(local).length) {
      setChecked((n) => n + 1);
      return;
    }
    save.mutate({ body });
  }

  const otherError = save.error && !Object.keys(apiFieldErrors(save.error)).some((k) => KNOWN_FIELDS.test(k));

  return (
    <DialogContent className="sm:max-w-2xl">
      <form ref={formRef} onSubmit={submit} className="grid max-h-[80vh] gap-4 overflow-y-auto p-0.5" noValidate>
        <DialogHeader>
          <DialogTitle>New budget</DialogTitle>
          <DialogDescription>
            A cap on the spend of a scope for the calendar month or quarter. Thresholds raise alerts; actions (freeze, slow down,
            downgrade routing, notify) apply when utilisation reaches them.
          </DialogDescription>
        </DialogHeader>
        <div className="grid gap-3 sm:grid-cols-2">
          <FormField label="Name (required)" error={errors.name} hint="Lowercase letters, digits and dashes, e.g. “team-a-monthly”.">
            {(p) => <Input {...p} value={draft.name} onChange={(e) => set("name", e.target.value)} autoComplete="off" required />}
          </FormField>
          <FormField label="Tier" error={errors.tier} hint={tiers.error ? "Tier presets could not be loaded." : "A tier fills in caps, thresholds and actions."}>
            {(p) => (
              <NativeSelect
                {...p}
                value={draft.tier}
                onChange={(e) => {
                  const name = e.target.value as BudgetDraft["tier"];
                  setDraft((d) => applyTier(d, tiers.data?.items.find((t) => t.name === name), name));
                }}
              >
                <option value="custom">Custom</option>
                {(tiers.data?.items ?? []).map((t) => (
                  <option key={t.name} value={t.name} className="capitalize">
                    {t.name}
                  </option>
                ))}
              </NativeSelect>
            )}
          </FormField>
        </div>
        <FormField label="Description" error={errors.description}>
          {(p) => <Input {...p} value={draft.description} onChange={(e) => set("description", e.target.value)} autoComplete="off" />}
        </FormField>
        <fieldset className="grid gap-3 rounded-md border p-3">
          <legend className="px-1 text-sm font-medium">Scope</legend>
          <p className="text-sm text-muted-foreground">The spend the budget covers: your tenant, narrowed by each field you fill in.</p>
          <div className="grid gap-3 sm:grid-cols-3">
            {SCOPE_DIMS.map((d) => (
              <FormField key={d} label={SCOPE_LABELS[d]} error={errors[`scope.${d}`]}>
                {(p) => <Input {...p} value={draft.scope[d]} onChange={(e) => set("scope", { ...draft.scope, [d]: e.target.value })} autoComplete="off" placeholder="any" />}
              </FormField>
            ))}
          </div>
        </fieldset>
        <div className="grid gap-3 sm:grid-cols-3">
          <FormField label="Period" error={errors.period}>
            {(p) => (
              <NativeSelect {...p} value={draft.period} onChange={(e) => set("period", e.target.value as BudgetDraft["period"])}>
                <option value="monthly">Monthly</option>
                <option value="quarterly">Quarterly</option>
              </NativeSelect>
            )}
          </FormField>
          <FormField label="Cap (USD)" error={errors.capUsd}>
            {(p) => <Input {...p} type="number" inputMode="decimal" min={0} step="any" value={draft.capUsd} onChange={(e) => set("capUsd", e.target.value)} />}
          </FormField>
          <FormField label="Cap (tokens)" error={errors.capTokens}>
            {(p) => <Input {...p} type="number" inputMode="numeric" min={0} step={1} value={draft.capTokens} onChange={(e) => set("capTokens", e.target.value)} />}
          </FormField>
        </div>
        <FormField label="Thresholds (% of the cap)" error={errors.thresholds} hint="Each raises a budget_warning alert once per period, e.g. 50, 80, 100.">
          {(p) => <Input {...p} value={draft.thresholds} onChange={(e) => set("thresholds", e.target.value)} autoComplete="off" />}
        </FormField>
        <section className="grid gap-3" aria-label="Actions">
          <h3 className="text-sm font-semibold">Actions</h3>
          {draft.actions.map((a, i) => (
            <ActionRow
              key={i}
              index={i}
              value={a}
              errors={errors}
              onChange={(next) => setAction(i, next)}
              onRemove={() => set("actions", draft.actions.filter((_, j) => j !== i))}
            />
          ))}
          {errors.actions ? <p className="text-sm text-danger">{errors.actions}</p> : null}
          <div>
            <Button
              variant="outline"
              size="sm"
              onClick={() => set("actions", [...draft.actions, { kind: "notify", atPercent: "80", permitsPerMinute: "6", classes: "" }])}
            >
              <PlusIcon aria-hidden="true" />
              Add action
            </Button>
          </div>
        </section>
        <div className="flex items-start gap-2">
          <Checkbox
            id={forecastId}
            checked={draft.forecastDowngrade}
            onCheckedChange={(c) => set("forecastDowngrade", c === true)}
            aria-describedby={`${forecastId}-hint`}
          />
          <div className="grid gap-1">
            <Label htmlFor={forecastId}>Downgrade before the breach</Label>
            <p id={`${forecastId}-hint`} className="text-sm text-muted-foreground">
              When the forecast reaches the cap this period, the downgrade actions apply early.
            </p>
          </div>
        </div>
        {otherError ? <ErrorState error={save.error} title="Could not create the budget" compact /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" disabled={save.isPending}>
            {save.isPending ? "Creating…" : "Create budget"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
