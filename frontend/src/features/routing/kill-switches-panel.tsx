import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { PowerIcon, PowerOffIcon, ShieldCheckIcon } from "lucide-react";
import { useState } from "react";
import { routingKillsCreateMutation, routingKillsDeleteMutation } from "@/client/@tanstack/react-query.gen";
import type { KillSwitchInput, KillSwitchPublic } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { DataTable, type Column } from "@/components/data-table";
import { FormField } from "@/components/form-field";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { NativeSelect } from "@/components/ui/native-select";
import { ApiError } from "@/lib/api-error";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { invalidateKills, killsQueryOptions, providersQueryOptions } from "./queries";

type Scope = KillSwitchInput["scope"];

const SCOPES: { value: Scope; label: string; hint: string }[] = [
  { value: "provider", label: "A provider", hint: "Every model of the provider." },
  { value: "model", label: "A model", hint: "provider/model (one candidate) or a model name (at every provider)." },
  { value: "tenant", label: "A tenant", hint: "Every request of the tenant (its gateway keys get 403)." },
];

/**
 * Switches off a provider, a model or a tenant on every gateway replica within one refresh
 * interval, with a reason (audited). Mount it with a new `key` for each opening.
 */
export function KillSwitchDialog({
  open,
  onOpenChange,
  initial,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  initial?: { scope: Scope; value: string };
}) {
  const queryClient = useQueryClient();
  const providers = useQuery(providersQueryOptions());
  const names = (providers.data?.items ?? []).map((p) => p.name);
  const [scope, setScope] = useState<Scope>(initial?.scope ?? "provider");
  const [value, setValue] = useState(initial?.value ?? "");
  const kill = useMutation({ ...routingKillsCreateMutation(), onSettled: () => invalidateKills(queryClient) });
  const providerValue = value || names[0] || "";
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      title="Switch off traffic"
      description="Requests stop going there on every gateway replica within one refresh interval; classes fail over to their other candidates. Revive it here when it is safe again."
      confirmLabel="Switch off"
      destructive
      requireReason
      reasonHint="Recorded with the switch and in the audit log, e.g. “incident 42: provider returns garbage”."
      onConfirm={async (reason) => {
        const v = (scope === "provider" ? providerValue : value).trim();
        if (!v) {
          throw new ApiError({
            status: 0,
            title: "Say what to switch off",
            detail: scope === "model" ? "Type a model (provider/model or a model name)." : `Choose the ${scope}.`,
          });
        }
        await kill.mutateAsync({ body: { scope, value: v, reason } });
        toast({ title: "Switched off", description: `${scope} ${v}: ${reason}`, variant: "success" });
      }}
    >
      <FormField label="What" hint={SCOPES.find((s) => s.value === scope)?.hint}>
        {(p) => (
          <NativeSelect
            {...p}
            value={scope}
            onChange={(e) => {
              setScope(e.target.value as Scope);
              setValue("");
            }}
          >
            {SCOPES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </NativeSelect>
        )}
      </FormField>
      {scope === "provider" ? (
        <FormField label="Provider">
          {(p) => (
            <NativeSelect {...p} value={providerValue} onChange={(e) => setValue(e.target.value)}>
              {names.length ? null : <option value="">No providers</option>}
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </NativeSelect>
          )}
        </FormField>
      ) : (
        <FormField label={scope === "model" ? "Model" : "Tenant id"}>
          {(p) => (
            <Input
              {...p}
              value={value}
              onChange={(e) => setValue(e.target.value)}
              autoComplete="off"
              placeholder={scope === "model" ? "openai/gpt-4o or gpt-4o" : "tenant id"}
            />
          )}
        </FormField>
      )}
    </ConfirmDialog>
  );
}

/** Kill switches in force, with revive; switching off asks what and why. */
export function KillSwitchesPanel() {
  const queryClient = useQueryClient();
  const mayWrite = useCan("routing:write");
  const list = useQuery(killsQueryOptions());
  const [adding, setAdding] = useState(0);
  const [reviving, setReviving] = useState<KillSwitchPublic | null>(null);
  const revive = useMutation({ ...routingKillsDeleteMutation(), onSettled: () => invalidateKills(queryClient) });

  const columns: Column<KillSwitchPublic>[] = [
    { id: "scope", header: "Scope", cell: (k) => <Badge variant="danger">{k.scope}</Badge> },
    { id: "value", header: "Switched off", cell: (k) => <span className="font-mono text-sm">{k.value}</span> },
    { id: "reason", header: "Reason", cell: (k) => k.reason },
    { id: "by", header: "By", cell: (k) => k.createdBy },
    { id: "at", header: "Since", cell: (k) => <span className="whitespace-nowrap">{formatDateTime(k.createdAt, true)}</span> },
    ...(mayWrite
      ? [
          {
            id: "actions",
            header: "Actions",
            srOnlyHeader: true,
            cell: (k: KillSwitchPublic) => (
              <Button variant="outline" size="sm" onClick={() => setReviving(k)} aria-label={`Revive ${k.scope} ${k.value}`}>
                <PowerIcon aria-hidden="true" />
                Revive
              </Button>
            ),
          },
        ]
      : []),
  ];

  return (
    <div className="grid min-w-0 grid-cols-1 gap-4">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <p className="max-w-2xl text-sm text-muted-foreground">
          A kill switch takes a provider, a model or a tenant out of routing on every gateway replica within one refresh interval.
          Classes fail over to their other candidates; a class with none left refuses requests (503).
        </p>
        {mayWrite ? (
          <Button variant="destructive" onClick={() => setAdding((n) => n + 1)}>
            <PowerOffIcon aria-hidden="true" />
            Switch off…
          </Button>
        ) : null}
      </div>
      <DataTable
        caption="Kill switches in force"
        columns={columns}
        rows={list.data?.items}
        rowKey={(k) => k.id}
        isPending={list.isPending}
        error={list.error}
        errorTitle="Could not load the kill switches"
        onRetry={() => void list.refetch()}
        empty={{
          icon: ShieldCheckIcon,
          title: "Nothing is switched off",
          description: "Every provider, model and tenant can be routed to.",
        }}
      />
      {mayWrite ? (
        <>
          {adding ? <KillSwitchDialog key={adding} open onOpenChange={(o) => !o && setAdding(0)} /> : null}
          <ConfirmDialog
            open={reviving !== null}
            onOpenChange={(o) => !o && setReviving(null)}
            title={`Revive ${reviving?.scope ?? ""} ${reviving?.value ?? ""}?`}
            description="Requests may go there again on every gateway replica within one refresh interval."
            confirmLabel="Revive"
            onConfirm={async () => {
              if (!reviving) return;
              await revive.mutateAsync({ path: { kill_id: reviving.id } });
              toast({ title: "Switched on again", description: `${reviving.scope} ${reviving.value}`, variant: "success" });
            }}
          />
        </>
      ) : null}
    </div>
  );
}
