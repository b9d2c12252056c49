import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Trash2Icon } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import {
  routingAliasesDeleteMutation,
  routingAliasesListOptions,
  routingAliasesPutMutation,
  routingLimitsDeleteMutation,
  routingLimitsListOptions,
  routingLimitsPutMutation,
} from "@/client/@tanstack/react-query.gen";
import type { ModelAliasPublic, RoutingLimitPublic } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { DataTable, type Column } from "@/components/data-table";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { byQueryId } from "@/lib/query-keys";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";

/** The API's limit names: `tenant:<id>:rpm|tpm` or `model:<name>:rpm|tpm`. */
const LIMIT_SUBJECT = /^[A-Za-z0-9._/*-]{1,200}$/;

function AliasesSection() {
  const mayWrite = useCan("routing:write");
  const queryClient = useQueryClient();
  const list = useQuery(routingAliasesListOptions());
  const headingId = useId();
  const [alias, setAlias] = useState("");
  const [target, setTarget] = useState("");
  const [allTenants, setAllTenants] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [removing, setRemoving] = useState<ModelAliasPublic | null>(null);
  const refresh = () => queryClient.invalidateQueries({ predicate: byQueryId("routingAliasesList") });
  const put = useMutation({
    ...routingAliasesPutMutation(),
    onSuccess: (a) => {
      toast({ title: "Alias saved", description: `${a.alias} → ${a.target}`, variant: "success" });
      setAlias("");
      setTarget("");
      setErrors({});
    },
    onError: (e) => setErrors(serverFieldErrors(e)),
    onSettled: refresh,
  });
  const remove = useMutation({ ...routingAliasesDeleteMutation(), onSettled: refresh });

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = {};
    if (!alias.trim()) local.alias = "Name the alias clients send, e.g. “fast”.";
    if (!target.trim()) local.target = "Name the model it stands for, e.g. “gpt-4o-mini”.";
    setErrors(local);
    if (Object.keys(local).length) return;
    put.mutate({ path: { alias: alias.trim() }, body: { target: target.trim(), allTenants } });
  }

  const columns: Column<ModelAliasPublic>[] = [
    { id: "alias", header: "Alias", cell: (a) => <span className="font-mono text-sm">{a.alias}</span> },
    { id: "target", header: "Stands for", cell: (a) => <span className="font-mono text-sm">{a.target}</span> },
    { id: "tenant", header: "For", cell: (a) => (a.tenant === "*" ? "every tenant" : "your tenant") },
    { id: "by", header: "Set by", cell: (a) => a.createdBy },
    ...(mayWrite
      ? [
          {
            id: "actions",
            header: "Actions",
            srOnlyHeader: true,
            cell: (a: ModelAliasPublic) => (
              <Button variant="ghost" size="sm" onClick={() => setRemoving(a)} aria-label={`Delete alias ${a.alias}`}>
                <Trash2Icon aria-hidden="true" />
                Delete
              </Button>
            ),
          },
        ]
      : []),
  ];
  return (
    <section aria-labelledby={headingId} className="grid gap-3">
      <h3 id={headingId} className="text-base font-semibold">
        Model aliases
      </h3>
      <p className="text-sm text-muted-foreground">A name clients may send instead of a model; classes match the model it stands for.</p>
      <DataTable
        caption="Model aliases"
        columns={columns}
        rows={list.data?.items}
        rowKey={(a) => `${a.tenant}/${a.alias}`}
        isPending={list.isPending}
        error={list.error}
        errorTitle="Could not load the aliases"
        onRetry={() => void list.refetch()}
        empty={{ title: "No aliases", description: "Clients send the model names classes match." }}
      />
      {mayWrite ? (
        <form onSubmit={submit} noValidate className="grid gap-3 rounded-md border p-3 sm:grid-cols-[1fr_1fr_auto_auto] sm:items-end" aria-label="Add or change an alias">
          <FormField label="Alias" error={errors.alias}>
            {(p) => <Input {...p} value={alias} onChange={(e) => setAlias(e.target.value)} autoComplete="off" placeholder="fast" />}
          </FormField>
          <FormField label="Stands for (model)" error={errors.target}>
            {(p) => <Input {...p} value={target} onChange={(e) => setTarget(e.target.value)} autoComplete="off" placeholder="gpt-4o-mini" />}
          </FormField>
          <div className="flex items-center gap-2 pb-2">
            <Checkbox id={`${headingId}-all`} checked={allTenants} onCheckedChange={(v) => setAllTenants(v === true)} />
            <Label htmlFor={`${headingId}-all`}>For every tenant</Label>
          </div>
          <Button type="submit" disabled={put.isPending}>
            {put.isPending ? "Saving…" : "Save alias"}
          </Button>
          {put.error && !Object.keys(serverFieldErrors(put.error)).length ? (
            <div className="sm:col-span-4">
              <ErrorState error={put.error} title="Could not save the alias" compact />
            </div>
          ) : null}
        </form>
      ) : null}
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(o) => !o && setRemoving(null)}
        title={`Delete alias ${removing?.alias ?? ""}?`}
        description="Requests that send it no longer match a class by it (404 unless a class matches the name itself)."
        confirmLabel="Delete alias"
        destructive
        onConfirm={async () => {
          if (!removing) return;
          await remove.mutateAsync({ path: { alias: removing.alias }, query: { all_tenants: removing.tenant === "*" } });
          toast({ title: "Alias deleted", description: removing.alias, variant: "success" });
        }}
      />
    </section>
  );
}

function LimitsSection() {
  const mayWrite = useCan("routing:write");
  const queryClient = useQueryClient();
  const list = useQuery(routingLimitsListOptions());
  const headingId = useId();
  const [kind, setKind] = useState<"tenant" | "model">("tenant");
  const [subject, setSubject] = useState("");
  const [unit, setUnit] = useState<"rpm" | "tpm">("rpm");
  const [value, setValue] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [removing, setRemoving] = useState<RoutingLimitPublic | null>(null);
  const refresh = () => queryClient.invalidateQueries({ predicate: byQueryId("routingLimitsList") });
  const put = useMutation({
    ...routingLimitsPutMutation(),
    onSuccess: (x) => {
      toast({ title: "Limit saved", description: `${x.name} = ${x.value}`, variant: "success" });
      setSubject("");
      setValue("");
      setErrors({});
    },
    onError: (e) => {
      const got = serverFieldErrors(e);
      setErrors({ subject: got.name ?? got["path.name"], value: got.value });
    },
    onSettled: refresh,
  });
  const remove = useMutation({ ...routingLimitsDeleteMutation(), onSettled: refresh });

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = {};
    if (!LIMIT_SUBJECT.test(subject.trim())) {
      local.subject = kind === "tenant" ? "The tenant's id (letters, digits, . _ / * -)." : "The model's name (letters, digits, . _ / * -).";
    }
    const n = Number(value);
    if (!value.trim() || !Number.isInteger(n) || n < 1 || n > 1_000_000_000) local.value = "A whole number from 1 to 1,000,000,000 per minute.";
    setErrors(local);
    if (Object.keys(local).length) return;
    put.mutate({ path: { name: `${kind}:${subject.trim()}:${unit}` }, body: { value: n } });
  }

  const columns: Column<RoutingLimitPublic>[] = [
    { id: "name", header: "Limit", cell: (x) => <span className="font-mono text-sm">{x.name}</span> },
    {
      id: "value",
      header: "Per minute",
      cell: (x) => (
        <span className="tabular-nums">
          {x.value.toLocaleString("en-US")} {x.name.endsWith(":tpm") ? "tokens" : "requests"}
        </span>
      ),
    },
    { id: "by", header: "Set by", cell: (x) => x.createdBy },
    ...(mayWrite
      ? [
          {
            id: "actions",
            header: "Actions",
            srOnlyHeader: true,
            cell: (x: RoutingLimitPublic) => (
              <Button variant="ghost" size="sm" onClick={() => setRemoving(x)} aria-label={`Delete limit ${x.name}`}>
                <Trash2Icon aria-hidden="true" />
                Delete
              </Button>
            ),
          },
        ]
      : []),
  ];
  return (
    <section aria-labelledby={headingId} className="grid gap-3">
      <h3 id={headingId} className="text-base font-semibold">
        Rate limits
      </h3>
      <p className="text-sm text-muted-foreground">
        Requests (rpm) or tokens (tpm) per minute for a tenant or a model, shared by every gateway replica; over it, requests get 429.
      </p>
      <DataTable
        caption="Rate limits"
        columns={columns}
        rows={list.data?.items}
        rowKey={(x) => x.name}
        isPending={list.isPending}
        error={list.error}
        errorTitle="Could not load the limits"
        onRetry={() => void list.refetch()}
        empty={{ title: "No limits", description: "Gateway keys' own quotas still apply." }}
      />
      {mayWrite ? (
        <form onSubmit={submit} noValidate className="grid gap-3 rounded-md border p-3 sm:grid-cols-[auto_1fr_auto_1fr_auto] sm:items-end" aria-label="Add or change a limit">
          <FormField label="For a">
            {(p) => (
              <NativeSelect {...p} value={kind} onChange={(e) => setKind(e.target.value as "tenant" | "model")}>
                <option value="tenant">tenant</option>
                <option value="model">model</option>
              </NativeSelect>
            )}
          </FormField>
          <FormField label={kind === "tenant" ? "Tenant id" : "Model name"} error={errors.subject}>
            {(p) => <Input {...p} value={subject} onChange={(e) => setSubject(e.target.value)} autoComplete="off" />}
          </FormField>
          <FormField label="Counting">
            {(p) => (
              <NativeSelect {...p} value={unit} onChange={(e) => setUnit(e.target.value as "rpm" | "tpm")}>
                <option value="rpm">requests (rpm)</option>
                <option value="tpm">tokens (tpm)</option>
              </NativeSelect>
            )}
          </FormField>
          <FormField label="Per minute" error={errors.value}>
            {(p) => <Input {...p} type="number" inputMode="numeric" min={1} step={1} value={value} onChange={(e) => setValue(e.target.value)} />}
          </FormField>
          <Button type="submit" disabled={put.isPending}>
            {put.isPending ? "Saving…" : "Save limit"}
          </Button>
          {put.error && !errors.subject && !errors.value ? (
            <div className="sm:col-span-5">
              <ErrorState error={put.error} title="Could not save the limit" compact />
            </div>
          ) : null}
        </form>
      ) : null}
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(o) => !o && setRemoving(null)}
        title={`Delete limit ${removing?.name ?? ""}?`}
        description="Requests it held back go through again on every gateway replica within one refresh interval."
        confirmLabel="Delete limit"
        destructive
        onConfirm={async () => {
          if (!removing) return;
          await remove.mutateAsync({ path: { name: removing.name } });
          toast({ title: "Limit deleted", description: removing.name, variant: "success" });
        }}
      />
    </section>
  );
}

/** Model aliases and per-minute rate limits of the gateway. */
export function AliasesLimitsPanel() {
  return (
    <div className="grid gap-8">
      <AliasesSection />
      <LimitsSection />
    </div>
  );
}
