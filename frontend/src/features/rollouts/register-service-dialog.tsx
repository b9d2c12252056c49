import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { environmentsListOptions, servicesCreateMutation } from "@/client/@tanstack/react-query.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { NativeSelect } from "@/components/ui/native-select";
import { ENV_ORDER, sortEnvNames, useCurrentEnv } from "@/lib/env";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { SERVICE_NAME, STICKY, upstreamError } from "./model";
import { invalidateServices } from "./queries";

export function RegisterServiceDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {/* Mounted only while open: every opening starts empty. */}
      {open ? <RegisterServiceForm onDone={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

function RegisterServiceForm({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const currentEnv = useCurrentEnv();
  const envs = useQuery({ ...environmentsListOptions(), staleTime: 5 * 60_000 });
  const envNames = sortEnvNames([...ENV_ORDER, ...(envs.data?.items.map((e) => e.name) ?? []), ...(currentEnv ? [currentEnv] : [])]);
  const [name, setName] = useState("");
  const [env, setEnv] = useState(currentEnv || "dev");
  const [stableUrl, setStableUrl] = useState("");
  const [sticky, setSticky] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    ...servicesCreateMutation(),
    onSuccess: (svc) => {
      toast({ title: "Service registered", description: `/${svc.name}/ at the edge router goes to ${svc.stableUrl}.`, variant: "success" });
      onDone();
    },
    onError: (e) => setErrors(serverFieldErrors(e)),
    onSettled: () => invalidateServices(queryClient),
  });

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
    setErrors(local);
    if (Object.keys(local).length) return;
    create.mutate({ body: { name: n, env, stableUrl: stableUrl.trim(), ...(s ? { sticky: s } : {}) } });
  }

  const fieldKeys = new Set(["name", "env", "stableUrl", "sticky"]);
  const otherError = create.error && !Object.keys(serverFieldErrors(create.error)).some((k) => fieldKeys.has(k));
  return (
    <DialogContent>
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <DialogHeader>
          <DialogTitle>Register service</DialogTitle>
          <DialogDescription>
            The edge router sends <code className="font-mono">/&lt;name&gt;/…</code> to the stable URL; a rollout then moves a share of
            that traffic to a canary.
          </DialogDescription>
        </DialogHeader>
        <FormField label="Name" error={errors.name} hint="Lowercase letters, digits and dashes, e.g. “checkout”.">
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
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
        <FormField label="Stable URL" error={errors.stableUrl} hint="Where the current version answers, e.g. http://10.0.0.5:8080.">
          {(p) => <Input {...p} type="url" inputMode="url" value={stableUrl} onChange={(e) => setStableUrl(e.target.value)} autoComplete="off" />}
        </FormField>
        <FormField
          label="Sticky sessions (optional)"
          error={errors.sticky}
          hint="header:<name> or cookie:<name>: requests carrying the same value keep going to the same version."
        >
          {(p) => <Input {...p} value={sticky} onChange={(e) => setSticky(e.target.value)} autoComplete="off" placeholder="header:X-Canary" />}
        </FormField>
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
