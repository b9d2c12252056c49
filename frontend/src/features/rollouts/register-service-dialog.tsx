import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { environmentsListOptions, servicesCreateMutation, servicesProvidersOptions } from "@/client/@tanstack/react-query.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { NativeSelect } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import { ENV_ORDER, sortEnvNames, useCurrentEnv } from "@/lib/env";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { SERVICE_NAME, STICKY, upstreamError } from "./model";
import { InlineCode } from "./inline-code";
import { NoTrafficCountersNote, ProviderSettings } from "./provider-fields";
import { buildSettings, initialSettings, settingsForm, type SettingValues } from "./provider-form";
import { invalidateServices } from "./queries";

/** The provider a new service names unless someone chooses another (the API's default too). */
export const DEFAULT_PROVIDER = "edge";

export function RegisterServiceDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {/* Mounted only while open: every opening starts empty. */}
      {open ? <RegisterServiceForm onDone={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

const BASE_FIELDS = new Set(["name", "env", "stableUrl", "sticky", "provider", "providerConfig"]);
const isFieldKey = (k: string) => BASE_FIELDS.has(k) || k.startsWith("providerConfig.");

function RegisterServiceForm({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const currentEnv = useCurrentEnv();
  const envs = useQuery({ ...environmentsListOptions(), staleTime: 5 * 60_000 });
  const providers = useQuery({ ...servicesProvidersOptions(), staleTime: 5 * 60_000 });
  const envNames = sortEnvNames([...ENV_ORDER, ...(envs.data?.items.map((e) => e.name) ?? []), ...(currentEnv ? [currentEnv] : [])]);
  const [name, setName] = useState("");
  const [env, setEnv] = useState(currentEnv || "dev");
  const [stableUrl, setStableUrl] = useState("");
  const [sticky, setSticky] = useState("");
  const [providerName, setProviderName] = useState(DEFAULT_PROVIDER);
  // each provider's settings as typed, so switching back and forth keeps them
  const [settings, setSettings] = useState<Record<string, SettingValues>>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const [checked, setChecked] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);

  const items = providers.data?.items ?? [];
  const provider = items.find((p) => p.name === providerName);
  const form = useMemo(() => (provider ? settingsForm(provider.configSchema) : null), [provider]);
  const values = settings[providerName] ?? (form ? initialSettings(form.fields) : {});

  // After a check that found problems (here or at the API), focus the first field that has one.
  useEffect(() => {
    if (!checked) return;
    formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [checked]);

  const create = useMutation({
    ...servicesCreateMutation(),
    onSuccess: (svc) => {
      toast({
        title: "Service registered",
        description:
          svc.provider === DEFAULT_PROVIDER
            ? `/${svc.name}/ at the edge router goes to ${svc.stableUrl}.`
            : `${svc.provider} sends ${svc.name}'s traffic to ${svc.stableUrl}.`,
        variant: "success",
      });
      onDone();
    },
    onError: (e) => {
      setErrors(serverFieldErrors(e));
      setChecked((n) => n + 1);
    },
    onSettled: () => invalidateServices(queryClient),
  });

  function chooseProvider(next: string) {
    setProviderName(next);
    setErrors(({ provider: _p, providerConfig: _c, ...rest }) =>
      Object.fromEntries(Object.entries(rest).filter(([k]) => !k.startsWith("providerConfig."))),
    );
  }

  function setSetting(key: string, value: string | boolean) {
    setSettings((all) => ({ ...all, [providerName]: { ...values, [key]: value } }));
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = {};
    const n = name.trim();
    if (!n) local.name = "Give the service a name, e.g. “checkout”.";
    else if (!SERVICE_NAME.test(n)) local.name = "Use lowercase letters, digits and dashes (up to 63), starting with a letter or digit.";
    const urlError = upstreamError(stableUrl, "stable URL");
    if (urlError) local.stableUrl = urlError;
    const s = sticky.trim();
    if (s && !STICKY.test(s)) local.sticky = "Write header:<name> or cookie:<name>, e.g. header:X-Canary.";
    const built = form ? buildSettings(form.fields, values) : { config: {}, errors: {} };
    Object.assign(local, built.errors);
    setErrors(local);
    if (Object.keys(local).length) {
      setChecked((c) => c + 1);
      return;
    }
    create.mutate({
      body: { name: n, env, stableUrl: stableUrl.trim(), ...(s ? { sticky: s } : {}), provider: providerName, providerConfig: built.config },
    });
  }

  // an error on a field shows there; the rest (and the provider's, while its field is not shown) in one place
  const shown = (k: string) => isFieldKey(k) && !(providers.error && (k === "provider" || k.startsWith("providerConfig")));
  const otherError = create.error && !Object.keys(serverFieldErrors(create.error)).some(shown);
  const providerHint = providers.isPending
    ? "Loading the traffic providers…"
    : provider
      ? <InlineCode text={provider.description} />
      : items.length === 0 && providers.isSuccess
        ? "The API offers no traffic provider."
        : undefined;
  return (
    <DialogContent>
      <form ref={formRef} onSubmit={submit} className="grid max-h-[80vh] gap-4 overflow-y-auto p-0.5" noValidate>
        <DialogHeader>
          <DialogTitle>Register service</DialogTitle>
          <DialogDescription>
            Its traffic provider (the built-in edge router, unless you choose another) sends the service&apos;s traffic to the stable URL;
            a rollout then moves a share of it to a canary.
          </DialogDescription>
        </DialogHeader>
        <FormField label="Name (required)" error={errors.name} hint="Lowercase letters, digits and dashes, e.g. “checkout”.">
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" required />}
        </FormField>
        <FormField label="Environment" error={errors.env}>
          {(p) => (
            <NativeSelect {...p} value={env} onChange={(e) => setEnv(e.target.value)}>
              {envNames.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </NativeSelect>
          )}
        </FormField>
        <FormField label="Stable URL (required)" error={errors.stableUrl} hint="Where the current version answers, e.g. http://10.0.0.5:8080.">
          {(p) => <Input {...p} type="url" inputMode="url" value={stableUrl} onChange={(e) => setStableUrl(e.target.value)} autoComplete="off" required />}
        </FormField>
        <FormField
          label="Sticky sessions (optional)"
          error={errors.sticky}
          hint="header:<name> or cookie:<name>: requests carrying the same value keep going to the same version."
        >
          {(p) => <Input {...p} value={sticky} onChange={(e) => setSticky(e.target.value)} autoComplete="off" placeholder="header:X-Canary" />}
        </FormField>
        {providers.error ? (
          <ErrorState
            error={providers.error}
            title="Could not load the traffic providers"
            onRetry={() => void providers.refetch()}
            compact
          />
        ) : (
          <FormField label="Traffic provider" error={errors.provider} hint={providerHint}>
            {(p) => (
              <NativeSelect
                {...p}
                value={providerName}
                onChange={(e) => chooseProvider(e.target.value)}
                aria-busy={providers.isPending || undefined}
                disabled={providers.isSuccess && items.length === 0}
              >
                {items.length ? (
                  items.map((pr) => (
                    <option key={pr.name} value={pr.name}>
                      {pr.title} ({pr.name})
                    </option>
                  ))
                ) : (
                  <option value={providerName}>{providers.isPending ? "Loading providers…" : providerName}</option>
                )}
              </NativeSelect>
            )}
          </FormField>
        )}
        {provider && !provider.measuresTraffic ? <NoTrafficCountersNote provider={provider} /> : null}
        {provider && form ? (
          <ProviderSettings provider={provider} form={form} values={values} onChange={setSetting} errors={errors} />
        ) : providers.isPending ? (
          <div className="grid gap-2" aria-hidden="true" data-testid="provider-settings-loading">
            <Skeleton className="h-4 w-32" />
            <Skeleton className="h-9 w-full" />
          </div>
        ) : null}
        {otherError ? <ErrorState error={create.error} title="Could not register the service" compact /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Registering…" : "Register service"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
