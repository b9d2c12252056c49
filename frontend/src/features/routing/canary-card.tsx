import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { FlaskConicalIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { rolloutsCreateMutation, rolloutsListOptions, servicesCreateMutation, servicesListOptions } from "@/client/@tanstack/react-query.gen";
import type { ServicePublic } from "@/client/types.gen";
import { MIN_REASON_LENGTH } from "@/components/confirm-dialog";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { NativeSelect } from "@/components/ui/native-select";
import { Textarea } from "@/components/ui/textarea";
import { useCurrentEnv, useEnvHref } from "@/lib/env";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { DEFAULT_STEPS_JSON, parseStepsJson } from "@/features/rollouts/model";
import { invalidateRolloutLists, invalidateServices, storeRollout } from "@/features/rollouts/queries";
import { RolloutStatusBadge } from "@/features/rollouts/rollout-status-badge";
import { candidateKey, ROUTING_NAME, NAME_HINT, type RoutingClass } from "./model";
import { classServices, modelUrl } from "./policy-model";

/** The model canaries of a class: its gateway services, their rollouts, and a way to start one. */
export function CanaryCard({ cls }: { cls: RoutingClass }) {
  const mayRead = useCan("rollouts:read");
  const mayStart = useCan("rollouts:promote");
  const [starting, setStarting] = useState(false);
  const services = useQuery({ ...servicesListOptions(), enabled: mayRead });
  const mine = classServices(services.data?.items ?? [], cls.name);
  if (!mayRead) return null;
  return (
    <Card aria-labelledby="canary-title">
      <CardHeader>
        <CardTitle id="canary-title">Model canary</CardTitle>
        <CardDescription>
          A rollout that moves the class&apos;s traffic to another candidate step by step, with analyses that roll it back on their
          own. Each runs on a service the gateway provider routes for this class.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {services.error ? <ErrorState error={services.error} title="Could not load the services" compact /> : null}
        {services.data && !mine.length ? (
          <p className="text-sm text-muted-foreground">No service routes this class yet: starting a canary registers one.</p>
        ) : null}
        {mine.map((s) => (
          <ServiceRollouts key={s.id} service={s} />
        ))}
        {mayStart ? (
          <div>
            <Button variant="outline" onClick={() => setStarting(true)} disabled={!services.data || cls.candidates.length < 2}>
              <FlaskConicalIcon aria-hidden="true" />
              Start model canary…
            </Button>
            {cls.candidates.length < 2 ? (
              <p className="pt-1 text-sm text-muted-foreground">A canary needs a second candidate to move traffic to.</p>
            ) : null}
          </div>
        ) : null}
      </CardContent>
      {mayStart && starting ? <CanaryDialog cls={cls} services={mine} open={starting} onOpenChange={setStarting} /> : null}
    </Card>
  );
}

function ServiceRollouts({ service }: { service: ServicePublic }) {
  const rollouts = useQuery(rolloutsListOptions({ query: { service: service.name, limit: 5 } }));
  const items = (rollouts.data?.items ?? []).filter((r) => r.env === service.env);
  return (
    <section className="grid gap-1 rounded-md border p-3" data-testid="canary-service" aria-label={`Service ${service.name} in ${service.env}`}>
      <p className="text-sm">
        <span className="font-medium">{service.name}</span> in {service.env}: stable <span className="font-mono text-xs">{service.stableUrl}</span>
        {service.canaryUrl ? (
          <>
            , canary <span className="font-mono text-xs">{service.canaryUrl}</span> at {service.weight ?? 0}%
          </>
        ) : null}
      </p>
      {rollouts.error ? <ErrorState error={rollouts.error} title="Could not load its rollouts" compact /> : null}
      {rollouts.data && !items.length ? <p className="text-sm text-muted-foreground">No rollouts yet.</p> : null}
      {items.length ? (
        <ul className="grid gap-1" aria-label={`Rollouts of ${service.name}`}>
          {items.map((r) => (
            <li key={r.id} className="flex flex-wrap items-center gap-2 text-sm" data-testid="canary-rollout">
              <RolloutStatusBadge status={r.status} />
              <EnvLink to={`/rollouts/${r.id}`} className="font-mono text-xs underline underline-offset-2">
                {r.canaryUrl}
              </EnvLink>
              <span className="text-muted-foreground">
                at {r.weight}%, started {formatDateTime(r.createdAt, true)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

const FIELDS = new Set(["name", "env", "stableUrl", "service", "canaryUrl", "steps", "reason"]);

function CanaryDialog({
  cls,
  services,
  open,
  onOpenChange,
}: {
  cls: RoutingClass;
  services: ServicePublic[];
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  const currentEnv = useCurrentEnv();
  const keys = cls.candidates.map(candidateKey);
  const [service, setService] = useState(services[0]?.name ?? "");
  const existing = services.find((s) => s.name === service);
  const [name, setName] = useState(`model-${cls.name}`);
  const [env, setEnv] = useState(currentEnv || "prod");
  const [stable, setStable] = useState(keys[0] ?? "");
  const stableKey = existing ? existing.stableUrl.replace(/^model:\/\//, "") : stable;
  const [canary, setCanary] = useState(() => keys.find((k) => k !== stableKey) ?? "");
  const [steps, setSteps] = useState(DEFAULT_STEPS_JSON);
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});

  const register = useMutation({ ...servicesCreateMutation(), onSettled: () => invalidateServices(queryClient) });
  const start = useMutation({
    ...rolloutsCreateMutation(),
    onSettled: () => {
      void invalidateRolloutLists(queryClient);
      void invalidateServices(queryClient);
    },
  });
  const error = register.error ?? start.error;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = {};
    if (!existing) {
      if (!ROUTING_NAME.test(name.trim())) local.name = NAME_HINT;
      if (!env.trim()) local.env = "Name the environment, e.g. prod.";
      if (!stable) local.stableUrl = "Choose the candidate that serves today.";
    }
    if (!canary) local.canaryUrl = "Choose the candidate to move traffic to.";
    else if (canary === stableKey) local.canaryUrl = "Choose a candidate other than the stable one.";
    const parsed = parseStepsJson(steps);
    if (!parsed.ok) local.steps = parsed.error;
    if (reason.trim().length < MIN_REASON_LENGTH) local.reason = `Give a reason of at least ${MIN_REASON_LENGTH} characters.`;
    setErrors(local);
    if (Object.keys(local).length || !parsed.ok) return;
    const [cp, ...cm] = canary.split("/");
    const canaryUrl = modelUrl({ provider: cp, model: cm.join("/") });
    try {
      let target = service;
      if (!existing) {
        const [sp, ...sm] = stable.split("/");
        const created = await register.mutateAsync({
          body: {
            name: name.trim(),
            env: env.trim(),
            stableUrl: modelUrl({ provider: sp, model: sm.join("/") }),
            provider: "gateway",
            providerConfig: { routeClass: cls.name },
          },
        });
        target = created.name;
      }
      const r = await start.mutateAsync({ body: { service: target, canaryUrl, steps: parsed.steps, reason: reason.trim() } });
      storeRollout(queryClient, r);
      toast({ title: "Model canary started", description: `${canary} for class ${cls.name}.`, variant: "success" });
      onOpenChange(false);
      navigate(href(`/rollouts/${r.id}`));
    } catch (err) {
      setErrors(serverFieldErrors(err));
    }
  }

  const otherError = error && !Object.keys(serverFieldErrors(error)).some((k) => FIELDS.has(k) || k.startsWith("steps"));
  const pending = register.isPending || start.isPending;
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="sm:max-w-2xl">
        <form onSubmit={(e) => void submit(e)} className="grid max-h-[80vh] gap-4 overflow-y-auto p-0.5" noValidate>
          <DialogHeader>
            <DialogTitle>Start a model canary for {cls.name}</DialogTitle>
            <DialogDescription>
              The canary candidate gets a growing share of the class&apos;s traffic, step by step; the analyses between the steps
              roll it back on their own when it misbehaves. Recorded in the audit log.
            </DialogDescription>
          </DialogHeader>
          <FormField label="Service" error={errors.service}>
            {(p) => (
              <NativeSelect {...p} value={service} onChange={(e) => setService(e.target.value)}>
                {services.map((s) => (
                  <option key={s.id} value={s.name}>
                    {s.name} ({s.env})
                  </option>
                ))}
                <option value="">Register a new service</option>
              </NativeSelect>
            )}
          </FormField>
          {!existing ? (
            <div className="grid gap-3 sm:grid-cols-3">
              <FormField label="New service name" error={errors.name}>
                {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
              </FormField>
              <FormField label="Environment" error={errors.env}>
                {(p) => <Input {...p} value={env} onChange={(e) => setEnv(e.target.value)} autoComplete="off" />}
              </FormField>
              <FormField label="Stable candidate" error={errors.stableUrl}>
                {(p) => (
                  <NativeSelect {...p} value={stable} onChange={(e) => setStable(e.target.value)}>
                    {keys.map((k) => (
                      <option key={k} value={k}>
                        {k}
                      </option>
                    ))}
                  </NativeSelect>
                )}
              </FormField>
            </div>
          ) : null}
          <FormField label="Canary candidate" error={errors.canaryUrl} hint={`Stable today: ${stableKey || "—"}.`}>
            {(p) => (
              <NativeSelect {...p} value={canary} onChange={(e) => setCanary(e.target.value)}>
                <option value="">Choose a candidate</option>
                {keys
                  .filter((k) => k !== stableKey)
                  .map((k) => (
                    <option key={k} value={k}>
                      {k}
                    </option>
                  ))}
              </NativeSelect>
            )}
          </FormField>
          <FormField
            label="Steps (JSON)"
            error={errors.steps}
            hint='As for any rollout: {"setWeight": 25}, {"pause": 60} or {"analysis": {}} (error rate < 5% by default, from the gateway’s counters).'
          >
            {(p) => (
              <Textarea {...p} value={steps} onChange={(e) => setSteps(e.target.value)} rows={8} spellCheck={false} className="font-mono text-xs" />
            )}
          </FormField>
          <FormField label="Reason (required)" error={errors.reason} hint="Recorded with the rollout in the audit log.">
            {(p) => <Textarea {...p} value={reason} onChange={(e) => setReason(e.target.value)} rows={2} aria-required="true" />}
          </FormField>
          {otherError ? <ErrorState error={error} title="Could not start the canary" compact /> : null}
          <DialogFooter>
            <Button variant="outline" onClick={() => onOpenChange(false)} disabled={pending}>
              Cancel
            </Button>
            <Button type="submit" disabled={pending}>
              {pending ? "Starting…" : "Start canary"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
