import { useMutation, useQueryClient } from "@tanstack/react-query";
import { InfoIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { rolloutsCreateMutation } from "@/client/@tanstack/react-query.gen";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Textarea } from "@/components/ui/textarea";
import { asProblem } from "@/lib/api-error";
import { useEnvHref } from "@/lib/env";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { canaryFormErrors, DEFAULT_STEPS_JSON, parseStep, parseStepsJson } from "./model";
import { PromoteProblem } from "./promote-problem";
import { invalidateRolloutLists, invalidateServices, storeRollout, useServiceProvider } from "./queries";
import { ServiceSelect } from "./service-select";

export function StartRolloutDialog({
  open,
  onOpenChange,
  service,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** Preselected service (e.g. from its row in the services table). */
  service?: string;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {/* Mounted only while open: every opening starts from the default steps. */}
      {open ? <StartRolloutForm initialService={service ?? ""} onCancel={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

/** "steps.1.analysis.provider" → "Step 2 (analysis provider)": the API counts steps from 0, people from 1. */
function stepFieldWords(field: string): string {
  const m = /^steps\.(\d+)(?:\.(.+))?$/.exec(field);
  if (!m) return field;
  return `Step ${Number(m[1]) + 1}${m[2] ? ` (${m[2].replace(/\./g, " ")})` : ""}`;
}

const sentence = (t: string) => (/[.!?]$/.test(t.trim()) ? t.trim() : `${t.trim()}.`);

/**
 * Server field names → this form's fields. Every step error (`steps.3.setWeight`) goes to the
 * steps editor, each naming its step, followed by what the API says to do about them.
 */
function fieldErrorsOf(error: unknown): FieldErrors {
  const out: FieldErrors = {};
  const steps: string[] = [];
  for (const [k, v] of Object.entries(serverFieldErrors(error))) {
    if (k === "steps" || k.startsWith("steps.")) steps.push(sentence(k === "steps" ? v : `${stepFieldWords(k)}: ${v}`));
    else out[k] ??= v;
  }
  if (steps.length) {
    const remedy = asProblem(error).remediation;
    out.steps = [...steps, ...(remedy ? [sentence(remedy)] : [])].join(" ");
  }
  return out;
}

const PROMQL_ANALYSIS = '{"analysis": {"provider": "prometheus", "metric": "promql", "query": "…"}}';

const STEPS_HINT =
  'A JSON array; each step is one of {"setWeight": 25}, {"pause": 60} (seconds, or "2m"; 0 waits for Resume or Promote) or ' +
  '{"analysis": {}} (by default error_rate < 0.05, measured 3 times 10s apart). ' +
  "After the last step the canary takes all traffic and becomes the stable version; add a pause of 0 to hold it for a person.";

const FIELDS = new Set(["service", "canaryUrl", "steps", "reason"]);

function StartRolloutForm({ initialService, onCancel }: { initialService: string; onCancel: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  const [service, setService] = useState(initialService);
  const [canaryUrl, setCanaryUrl] = useState("");
  const [steps, setSteps] = useState(DEFAULT_STEPS_JSON);
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const { provider } = useServiceProvider(service);
  // a provider without traffic counters (the Gateway API): the built-in analyses (at the edge) are refused
  const noCounters = provider && !provider.measuresTraffic ? provider : null;
  const create = useMutation({
    ...rolloutsCreateMutation(),
    onSuccess: (r) => {
      storeRollout(queryClient, r);
      toast({ title: "Rollout started", description: `Canary ${r.canaryUrl} of ${r.service} in ${r.env}.`, variant: "success" });
      navigate(href(`/rollouts/${r.id}`));
    },
    onError: (e) => setErrors(fieldErrorsOf(e)),
    onSettled: () => {
      void invalidateRolloutLists(queryClient);
      void invalidateServices(queryClient);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = canaryFormErrors({ service, canaryUrl, reason }, "Choose the service to roll out.");
    const parsed = parseStepsJson(steps);
    if (!parsed.ok) local.steps = parsed.error;
    else if (noCounters) {
      const built = parsed.steps
        .map((s, i) => ({ n: i + 1, step: parseStep(s as Record<string, unknown>) }))
        .filter(({ step }) => step.kind === "analysis" && step.analysis.provider === "edge")
        .map(({ n }) => n);
      if (built.length) {
        local.steps =
          `${built.length === 1 ? "Step" : "Steps"} ${built.join(", ")}: ${noCounters.title} cannot count requests, so ` +
          `${built.length === 1 ? "this analysis" : "these analyses"} must measure with Prometheus, e.g. ${PROMQL_ANALYSIS}.`;
      }
    }
    setErrors(local);
    if (Object.keys(local).length || !parsed.ok) return;
    create.mutate({ body: { service, canaryUrl: canaryUrl.trim(), steps: parsed.steps, reason: reason.trim() } });
  }

  const otherError = create.error && !Object.keys(fieldErrorsOf(create.error)).some((k) => FIELDS.has(k));
  return (
    <DialogContent className="sm:max-w-2xl">
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <DialogHeader>
          <DialogTitle>Start rollout</DialogTitle>
          <DialogDescription>
            A canary of the service gets a growing share of its traffic, step by step; analyses between the steps roll it back on
            their own when the canary misbehaves. Recorded in the audit log.
          </DialogDescription>
        </DialogHeader>
        <ServiceSelect value={service} onChange={setService} error={errors.service} />
        <FormField label="Canary URL" error={errors.canaryUrl} hint="Where the new version answers, e.g. http://10.0.0.6:8080.">
          {(p) => <Input {...p} type="url" inputMode="url" value={canaryUrl} onChange={(e) => setCanaryUrl(e.target.value)} autoComplete="off" />}
        </FormField>
        {noCounters ? (
          <p
            role="note"
            data-testid="no-traffic-counters"
            className="flex gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950/60 dark:text-amber-50"
          >
            <InfoIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
            <span>
              {service} is routed by {noCounters.title}, which does not count requests per version: its analyses must use Prometheus (
              <code className="font-mono text-xs">{PROMQL_ANALYSIS}</code>). The default steps&apos; built-in analyses would be refused.
            </span>
          </p>
        ) : null}
        <FormField
          label="Steps (JSON)"
          error={errors.steps}
          hint={STEPS_HINT}
        >
          {(p) => (
            <Textarea
              {...p}
              value={steps}
              onChange={(e) => setSteps(e.target.value)}
              rows={9}
              spellCheck={false}
              autoCapitalize="off"
              autoComplete="off"
              className="font-mono text-xs"
            />
          )}
        </FormField>
        {steps !== DEFAULT_STEPS_JSON ? (
          <div>
            <Button variant="outline" size="sm" onClick={() => setSteps(DEFAULT_STEPS_JSON)}>
              Use the default steps
            </Button>
          </div>
        ) : null}
        <FormField label="Reason (required)" error={errors.reason} hint="Recorded with the rollout in the audit log.">
          {(p) => <Textarea {...p} value={reason} onChange={(e) => setReason(e.target.value)} rows={2} aria-required="true" />}
        </FormField>
        {otherError ? <PromoteProblem error={create.error} title="Could not start the rollout" /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onCancel} disabled={create.isPending}>
            Cancel
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Starting…" : "Start rollout"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
