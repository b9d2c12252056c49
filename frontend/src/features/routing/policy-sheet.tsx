import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ArrowDownIcon, ArrowUpIcon } from "lucide-react";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { routingClassesPutMutation } from "@/client/@tanstack/react-query.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import type { FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { apiFieldErrors, candidateKey, DIMENSION_HINTS, DIMENSION_LABELS, SCORE_DIMENSIONS, type RoutingClass } from "./model";
import { buildPolicyBody, FAILOVER_FIELDS, move, policyDraft, splitSum, type PolicyDraft } from "./policy-model";
import { invalidateClasses } from "./queries";

/** Fields this sheet shows; an API error on any other goes to the general error. */
const KNOWN_FIELDS = /^(policy(\..*)?|weights\..*|failover\..*|candidates(\..*)?|sticky|rego|capture\..*)$/;

/**
 * The class's policy sheet: who may serve it (providers, models, regions, Rego), how candidates are
 * scored, failover and cooldown, the fallback order, the A/B split and capture settings.
 */
export function PolicySheet({ cls, open, onOpenChange }: { cls: RoutingClass; open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <PolicyForm cls={cls} onDone={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

function PolicyForm({ cls, onDone }: { cls: RoutingClass; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<PolicyDraft>(() => policyDraft(cls));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [checked, setChecked] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  const orderId = useId();
  const sumId = useId();

  useEffect(() => {
    if (!checked) return;
    formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [checked]);

  const save = useMutation({
    ...routingClassesPutMutation(),
    onSuccess: (saved) => {
      toast({ title: "Policy saved", description: `${saved.name}: gateways apply it within their refresh interval.`, variant: "success" });
      onDone();
    },
    onError: (e) => {
      setErrors(apiFieldErrors(e));
      setChecked((n) => n + 1);
    },
    onSettled: () => invalidateClasses(queryClient),
  });

  function set<K extends keyof PolicyDraft>(key: K, value: PolicyDraft[K]) {
    setDraft((d) => ({ ...d, [key]: value }));
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const { body, errors: local } = buildPolicyBody(draft, cls);
    setErrors(local);
    if (Object.keys(local).length) {
      setChecked((n) => n + 1);
      return;
    }
    save.mutate({ path: { name: cls.name }, body });
  }

  function moveCandidate(i: number, delta: number) {
    set("candidates", move(draft.candidates, i, delta));
    // keep the focus on the moved row's button that was pressed, now at its new place
    // (at an end that button is disabled: the row's other one takes the focus)
    requestAnimationFrame(() => {
      const at = (dir: string) => formRef.current?.querySelector<HTMLButtonElement>(`[data-move="${i + delta}:${dir}"]`);
      const same = at(delta < 0 ? "up" : "down");
      (same && !same.disabled ? same : at(delta < 0 ? "down" : "up"))?.focus();
    });
  }

  const sum = splitSum(draft.candidates);
  const sumOk = sum === 0 || sum === 100;
  const otherError = save.error && !Object.keys(apiFieldErrors(save.error)).some((k) => KNOWN_FIELDS.test(k));

  return (
    <DialogContent className="sm:max-w-3xl">
      <form ref={formRef} onSubmit={submit} className="grid max-h-[80vh] gap-4 overflow-y-auto p-0.5" noValidate>
        <DialogHeader>
          <DialogTitle>Policy of {cls.name}</DialogTitle>
          <DialogDescription>
            Which candidates may serve the class, how they are scored, failover and cooldown, the fallback order and the A/B
            split. Gateways apply a change within their refresh interval.
          </DialogDescription>
        </DialogHeader>
        <fieldset className="grid gap-3 rounded-md border p-3">
          <legend className="px-1 text-sm font-medium">Allowed</legend>
          <p className="text-sm text-muted-foreground">
            A candidate outside these lists gets policy score 0 and is never chosen. Empty: no limit. Separate with commas.
          </p>
          <div className="grid gap-3 sm:grid-cols-3">
            <FormField label="Providers" error={errors["policy.providers"]}>
              {(p) => <Input {...p} value={draft.providers} onChange={(e) => set("providers", e.target.value)} autoComplete="off" />}
            </FormField>
            <FormField label="Models" error={errors["policy.models"]}>
              {(p) => <Input {...p} value={draft.models} onChange={(e) => set("models", e.target.value)} autoComplete="off" />}
            </FormField>
            <FormField label="Regions (data residency)" error={errors["policy.regions"]} hint="The provider's region must be one of these.">
              {(p) => (
                <Input {...p} value={draft.regions} onChange={(e) => set("regions", e.target.value)} autoComplete="off" placeholder="eu-west-1" />
              )}
            </FormField>
          </div>
          {errors.policy ? <p className="text-sm text-danger">{errors.policy}</p> : null}
        </fieldset>
        <fieldset className="grid gap-3 rounded-md border p-3">
          <legend className="px-1 text-sm font-medium">Score weights</legend>
          <div className="grid gap-3 sm:grid-cols-4">
            {SCORE_DIMENSIONS.map((d) => (
              <FormField key={d} label={DIMENSION_LABELS[d]} error={errors[`weights.${d}`]}>
                {(p) => (
                  <Input
                    {...p}
                    type="number"
                    inputMode="decimal"
                    min={0}
                    max={100}
                    step="any"
                    title={DIMENSION_HINTS[d]}
                    value={draft.weights[d]}
                    onChange={(e) => set("weights", { ...draft.weights, [d]: e.target.value })}
                  />
                )}
              </FormField>
            ))}
          </div>
        </fieldset>
        <fieldset className="grid gap-3 rounded-md border p-3">
          <legend className="px-1 text-sm font-medium">Failover and cooldown</legend>
          <div className="grid gap-3 sm:grid-cols-3 lg:grid-cols-5">
            {FAILOVER_FIELDS.map((f) => (
              <FormField key={f.key} label={f.label} error={errors[`failover.${f.key}`]}>
                {(p) => (
                  <Input
                    {...p}
                    type="number"
                    inputMode="numeric"
                    min={f.min}
                    max={f.max}
                    step={1}
                    title={f.hint}
                    value={draft.failover[f.key]}
                    onChange={(e) => set("failover", { ...draft.failover, [f.key]: e.target.value })}
                  />
                )}
              </FormField>
            ))}
          </div>
        </fieldset>
        <section aria-labelledby={orderId} className="grid gap-3 rounded-md border p-3">
          <h3 id={orderId} className="text-sm font-semibold">
            Fallback order and A/B split
          </h3>
          <p className="text-sm text-muted-foreground">
            The order breaks score ties. A/B shares in percent send that part of the requests to each candidate: they add up to
            100, or are all 0 for no split (the best score wins).
          </p>
          <ol className="grid gap-2" aria-label="Candidates in fallback order">
            {draft.candidates.map((c, i) => {
              const key = candidateKey(c);
              return (
                <li key={key} className="flex flex-wrap items-end gap-2" data-testid="policy-candidate" data-candidate={key}>
                  <span className="w-6 pb-2 text-sm tabular-nums text-muted-foreground">{i + 1}.</span>
                  <span className="min-w-40 flex-1 pb-2 font-mono text-sm">{key}</span>
                  <div className="w-36">
                    <FormField label={`A/B share of ${key} (%)`} error={errors[`candidates.${i}.weight`]}>
                      {(p) => (
                        <Input
                          {...p}
                          type="number"
                          inputMode="numeric"
                          min={0}
                          max={100}
                          step={1}
                          value={c.weight}
                          onChange={(e) =>
                            set(
                              "candidates",
                              draft.candidates.map((x, j) => (j === i ? { ...x, weight: e.target.value } : x)),
                            )
                          }
                        />
                      )}
                    </FormField>
                  </div>
                  <Button
                    variant="ghost"
                    size="sm"
                    aria-label={`Move ${key} up`}
                    data-move={`${i}:up`}
                    disabled={i === 0}
                    onClick={() => moveCandidate(i, -1)}
                  >
                    <ArrowUpIcon aria-hidden="true" />
                  </Button>
                  <Button
                    variant="ghost"
                    size="sm"
                    aria-label={`Move ${key} down`}
                    data-move={`${i}:down`}
                    disabled={i === draft.candidates.length - 1}
                    onClick={() => moveCandidate(i, 1)}
                  >
                    <ArrowDownIcon aria-hidden="true" />
                  </Button>
                </li>
              );
            })}
          </ol>
          <p id={sumId} className={sumOk ? "text-sm text-muted-foreground" : "text-sm font-medium text-danger"} data-testid="split-sum" aria-live="polite">
            {sum === null ? "A share is not a number." : sum === 0 ? "No split: 0% in all (the best score wins)." : `Shares add up to ${sum}%${sumOk ? "." : " (must be 100%)."}`}
          </p>
          {errors.candidates ? <p className="text-sm text-danger">{errors.candidates}</p> : null}
          <FormField label="Sticky header (optional)" error={errors.sticky} hint="A request header whose value keeps a user on one side of the split, e.g. x-user-id.">
            {(p) => <Input {...p} className="sm:w-72" value={draft.sticky} onChange={(e) => set("sticky", e.target.value)} autoComplete="off" />}
          </FormField>
        </section>
        <FormField
          label="Rego policy (optional)"
          error={errors.rego}
          hint="rego.v1: `deny contains msg if { … }` over input {candidate: {provider, model, region, kind}, tenant, env, project}; a denied candidate is never chosen for that scope."
        >
          {(p) => (
            <Textarea
              {...p}
              className="min-h-32 font-mono text-xs"
              spellCheck={false}
              value={draft.rego}
              onChange={(e) => set("rego", e.target.value)}
            />
          )}
        </FormField>
        <fieldset className="grid gap-3 rounded-md border p-3">
          <legend className="px-1 text-sm font-medium">Capture (for evals)</legend>
          <div className="flex items-center gap-2">
            <Checkbox
              id={`${orderId}-capture`}
              checked={draft.captureEnabled}
              onCheckedChange={(v) => set("captureEnabled", v === true)}
            />
            <Label htmlFor={`${orderId}-capture`}>Capture a sample of requests and answers (redacted)</Label>
          </div>
          <div className="grid gap-3 sm:grid-cols-2">
            <FormField label="Sample rate (%)" error={errors["capture.sampleRate"]}>
              {(p) => (
                <Input {...p} type="number" inputMode="decimal" min={0} max={100} step="any" value={draft.captureRate} onChange={(e) => set("captureRate", e.target.value)} />
              )}
            </FormField>
            <FormField label="Keep for (days)" error={errors["capture.retentionDays"]}>
              {(p) => (
                <Input
                  {...p}
                  type="number"
                  inputMode="numeric"
                  min={1}
                  max={365}
                  step={1}
                  value={draft.captureRetention}
                  onChange={(e) => set("captureRetention", e.target.value)}
                />
              )}
            </FormField>
          </div>
        </fieldset>
        {otherError ? <ErrorState error={save.error} title="Could not save the policy" compact /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Save policy"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
