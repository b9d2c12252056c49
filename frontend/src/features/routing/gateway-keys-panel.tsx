import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { AlertTriangleIcon, KeyRoundIcon, PlusIcon } from "lucide-react";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { routingGatewayInfoOptions, routingKeysCreateMutation, routingKeysRevokeMutation } from "@/client/@tanstack/react-query.gen";
import type { GatewayKeyCreated, GatewayKeyInput, GatewayKeyPublic } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { CopyButton } from "@/components/copy-button";
import { DataTable, type Column } from "@/components/data-table";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import type { FieldErrors } from "@/lib/form";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { apiFieldErrors } from "./model";
import { classesQueryOptions, invalidateKeys, keysQueryOptions } from "./queries";

const EXPIRY = [
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "never", label: "Never" },
];
const FIELDS = new Set(["name", "project", "env", "rpm", "tpm", "classes", "expiresInDays"]);

function keyStatus(k: GatewayKeyPublic): { label: string; variant: "success" | "danger" | "warning" } {
  if (k.revokedAt) return { label: "Revoked", variant: "danger" };
  if (k.expiresAt && Date.parse(k.expiresAt) <= Date.now()) return { label: "Expired", variant: "warning" };
  return { label: "Active", variant: "success" };
}

function optionalInt(text: string, field: string, errors: FieldErrors): number | null {
  const t = text.trim();
  if (!t) return null;
  const n = Number(t);
  if (!Number.isInteger(n) || n < 1) errors[field] = "A whole number of at least 1, or empty for no limit.";
  return n;
}

function CreateKeyDialog({ open, onOpenChange, onCreated }: { open: boolean; onOpenChange: (o: boolean) => void; onCreated: (k: GatewayKeyCreated) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <CreateKeyForm onCancel={() => onOpenChange(false)} onCreated={onCreated} /> : null}
    </Dialog>
  );
}

function CreateKeyForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (k: GatewayKeyCreated) => void }) {
  const queryClient = useQueryClient();
  const classes = useQuery(classesQueryOptions());
  const [name, setName] = useState("");
  const [project, setProject] = useState("");
  const [env, setEnv] = useState("");
  const [rpm, setRpm] = useState("");
  const [tpm, setTpm] = useState("");
  const [allowed, setAllowed] = useState<string[]>([]);
  const [expiry, setExpiry] = useState("90");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [checked, setChecked] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  const classesId = useId();

  useEffect(() => {
    if (!checked) return;
    formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [checked]);

  const create = useMutation({
    ...routingKeysCreateMutation(),
    onSuccess: onCreated,
    onError: (e) => {
      setErrors(apiFieldErrors(e));
      setChecked((n) => n + 1);
    },
    onSettled: () => invalidateKeys(queryClient),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = {};
    if (!name.trim()) local.name = "Give the key a name that says who uses it, e.g. “checkout-service”.";
    const body: GatewayKeyInput = {
      name: name.trim(),
      project: project.trim() || null,
      env: env.trim() || null,
      rpm: optionalInt(rpm, "rpm", local),
      tpm: optionalInt(tpm, "tpm", local),
      classes: allowed,
      expiresInDays: expiry === "never" ? null : Number(expiry),
    };
    setErrors(local);
    if (Object.keys(local).length) {
      setChecked((n) => n + 1);
      return;
    }
    create.mutate({ body });
  }

  const names = (classes.data?.items ?? []).map((c) => c.name);
  const otherError = create.error && !Object.keys(apiFieldErrors(create.error)).some((k) => FIELDS.has(k));
  return (
    <DialogContent>
      <form ref={formRef} onSubmit={submit} className="grid max-h-[80vh] gap-4 overflow-y-auto p-0.5" noValidate>
        <DialogHeader>
          <DialogTitle>New gateway key</DialogTitle>
          <DialogDescription>
            For a client of the model gateway: scoped to your tenant (and a project and environment), with its own quota. Revocable
            at any time.
          </DialogDescription>
        </DialogHeader>
        <FormField label="Name (required)" error={errors.name}>
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </FormField>
        <div className="grid gap-4 sm:grid-cols-2">
          <FormField label="Project (optional)" error={errors.project}>
            {(p) => <Input {...p} value={project} onChange={(e) => setProject(e.target.value)} autoComplete="off" />}
          </FormField>
          <FormField label="Environment (optional)" error={errors.env}>
            {(p) => <Input {...p} value={env} onChange={(e) => setEnv(e.target.value)} autoComplete="off" placeholder="prod" />}
          </FormField>
          <FormField label="Requests per minute (optional)" error={errors.rpm} hint="Across every gateway replica.">
            {(p) => <Input {...p} type="number" inputMode="numeric" min={1} value={rpm} onChange={(e) => setRpm(e.target.value)} />}
          </FormField>
          <FormField label="Tokens per minute (optional)" error={errors.tpm}>
            {(p) => <Input {...p} type="number" inputMode="numeric" min={1} value={tpm} onChange={(e) => setTpm(e.target.value)} />}
          </FormField>
        </div>
        <fieldset className="grid gap-2" aria-describedby={`${classesId}-hint`}>
          <legend className="mb-1 text-sm font-medium">Classes it may use</legend>
          {names.length ? (
            <div className="grid max-h-40 gap-2 overflow-y-auto rounded-md border p-3">
              {names.map((n) => (
                <div key={n} className="flex items-center gap-2">
                  <Checkbox
                    id={`${classesId}-${n}`}
                    checked={allowed.includes(n)}
                    onCheckedChange={(c) => setAllowed((prev) => (c === true ? [...prev, n] : prev.filter((x) => x !== n)))}
                  />
                  <label htmlFor={`${classesId}-${n}`} className="font-mono text-sm">
                    {n}
                  </label>
                </div>
              ))}
            </div>
          ) : null}
          <p id={`${classesId}-hint`} className={errors.classes ? "text-sm text-danger" : "text-sm text-muted-foreground"}>
            {errors.classes ?? "None chosen: every class of your tenant."}
          </p>
        </fieldset>
        <FormField label="Expires after" error={errors.expiresInDays}>
          {(p) => (
            <NativeSelect {...p} value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRY.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </NativeSelect>
          )}
        </FormField>
        {otherError ? <ErrorState error={create.error} title="Could not create the key" compact /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create key"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}

/** A new key's secret, shown once: the parent drops it when this closes; the API never returns it again. */
function KeyCreatedDialog({ created, onClose }: { created: GatewayKeyCreated | null; onClose: () => void }) {
  const secretId = useId();
  const gateway = useQuery({ ...routingGatewayInfoOptions(), enabled: created !== null, staleTime: 5 * 60_000 });
  const url = gateway.data?.url.replace(/\/+$/, "");
  return (
    <Dialog open={created !== null} onOpenChange={(o) => !o && onClose()}>
      {created ? (
        <DialogContent onInteractOutside={(e) => e.preventDefault()}>
          <DialogHeader>
            <DialogTitle>Gateway key “{created.name}” created</DialogTitle>
            <DialogDescription>
              Clients send it to the gateway&apos;s /v1 endpoints as Authorization: Bearer &lt;secret&gt; (or x-api-key), e.g. as the
              OpenAI SDK&apos;s api_key with base_url pointing at the gateway.
            </DialogDescription>
          </DialogHeader>
          <div
            role="note"
            className="flex gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-50"
          >
            <AlertTriangleIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
            <p>
              <strong>Copy the secret now.</strong> This is the only time it is shown: Maestro keeps only a hash of it. If it is lost,
              revoke this key and create another.
            </p>
          </div>
          {url ? (
            <dl className="grid gap-1 text-sm" data-testid="gateway-base-urls">
              <div className="flex flex-wrap items-center gap-2">
                <dt className="font-medium">OpenAI base_url:</dt>
                <dd className="flex items-center gap-2">
                  <span className="font-mono text-xs">{url}/v1</span>
                  <CopyButton value={`${url}/v1`} label="Copy the OpenAI base_url" />
                </dd>
              </div>
              <div className="flex flex-wrap items-center gap-2">
                <dt className="font-medium">Anthropic base_url:</dt>
                <dd className="flex items-center gap-2">
                  <span className="font-mono text-xs">{url}</span>
                  <CopyButton value={url} label="Copy the Anthropic base_url" />
                </dd>
              </div>
            </dl>
          ) : gateway.error ? (
            <p className="text-sm text-muted-foreground">The gateway&apos;s address could not be read; ask whoever runs it.</p>
          ) : null}
          <div className="grid gap-2">
            <Label htmlFor={secretId}>Secret</Label>
            <div className="flex gap-2">
              <Input
                id={secretId}
                readOnly
                value={created.secret}
                className="font-mono text-xs"
                onFocus={(e) => e.currentTarget.select()}
                data-testid="gateway-key-secret"
              />
              <CopyButton value={created.secret} label="Copy secret" />
            </div>
          </div>
          <DialogFooter>
            <Button onClick={onClose}>I have stored the secret</Button>
          </DialogFooter>
        </DialogContent>
      ) : null}
    </Dialog>
  );
}

/** Gateway keys of your tenant: scopes and quotas, create (secret shown once) and revoke with a reason. */
export function GatewayKeysPanel() {
  const queryClient = useQueryClient();
  const list = useQuery(keysQueryOptions());
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<GatewayKeyCreated | null>(null);
  const [revoking, setRevoking] = useState<GatewayKeyPublic | null>(null);
  const revoke = useMutation({ ...routingKeysRevokeMutation(), onSettled: () => invalidateKeys(queryClient) });

  const columns: Column<GatewayKeyPublic>[] = [
    {
      id: "name",
      header: "Name",
      cell: (k) => (
        <span className="grid gap-0.5">
          <span className="font-medium">{k.name}</span>
          <span className="font-mono text-xs text-muted-foreground">{k.prefix}…</span>
        </span>
      ),
    },
    {
      id: "scope",
      header: "Scope",
      cell: (k) => (
        <span className="text-sm">
          {[k.project ? `project ${k.project}` : null, k.env ? `env ${k.env}` : null].filter(Boolean).join(", ") || "whole tenant"}
          {k.classes.length ? <span className="block text-xs text-muted-foreground">classes: {k.classes.join(", ")}</span> : null}
        </span>
      ),
    },
    {
      id: "quota",
      header: "Quota",
      cell: (k) => (
        <span className="text-sm whitespace-nowrap">
          {[k.rpm ? `${k.rpm.toLocaleString()} req/min` : null, k.tpm ? `${k.tpm.toLocaleString()} tokens/min` : null].filter(Boolean).join(", ") ||
            "none"}
        </span>
      ),
    },
    {
      id: "status",
      header: "Status",
      cell: (k) => {
        const s = keyStatus(k);
        return (
          <span className="grid gap-0.5">
            <Badge variant={s.variant}>{s.label}</Badge>
            {k.revokedReason ? <span className="text-xs text-muted-foreground">{k.revokedReason}</span> : null}
          </span>
        );
      },
    },
    { id: "created", header: "Created", cell: (k) => <span className="whitespace-nowrap">{formatDateTime(k.createdAt)} by {k.createdBy}</span> },
    { id: "expires", header: "Expires", cell: (k) => <span className="whitespace-nowrap">{k.expiresAt ? formatDateTime(k.expiresAt) : "never"}</span> },
    {
      id: "actions",
      header: "Actions",
      srOnlyHeader: true,
      cell: (k) =>
        k.revokedAt ? null : (
          <Button variant="ghost" size="sm" onClick={() => setRevoking(k)} aria-label={`Revoke gateway key ${k.name}`}>
            Revoke
          </Button>
        ),
    },
  ];

  return (
    <div className="grid min-w-0 grid-cols-1 gap-4">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <p className="max-w-2xl text-sm text-muted-foreground">
          Keys that clients of the model gateway authenticate with. Each is scoped to your tenant (and a project and environment),
          can carry its own request and token quota, and is refused by every replica within a refresh interval once revoked.
        </p>
        <Button onClick={() => setCreating(true)}>
          <PlusIcon aria-hidden="true" />
          New gateway key
        </Button>
      </div>
      <DataTable
        caption="Gateway keys of your tenant, newest first"
        columns={columns}
        rows={list.data?.items}
        rowKey={(k) => k.id}
        isPending={list.isPending}
        error={list.error}
        errorTitle="Could not load the gateway keys"
        onRetry={() => void list.refetch()}
        empty={{
          icon: KeyRoundIcon,
          title: "No gateway keys yet",
          description: "Create one for each client that sends requests to the gateway; its secret is shown once.",
        }}
      />
      <CreateKeyDialog
        open={creating}
        onOpenChange={setCreating}
        onCreated={(k) => {
          setCreating(false);
          setCreated(k);
        }}
      />
      <KeyCreatedDialog created={created} onClose={() => setCreated(null)} />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={`Revoke gateway key “${revoking?.name ?? ""}”?`}
        description="Every gateway replica refuses it (401) within one refresh interval. This cannot be undone."
        confirmLabel="Revoke key"
        destructive
        requireReason
        onConfirm={async (reason) => {
          if (!revoking) return;
          await revoke.mutateAsync({ path: { key_id: revoking.id }, body: { reason } });
          toast({ title: "Gateway key revoked", description: revoking.name, variant: "success" });
        }}
      />
    </div>
  );
}
