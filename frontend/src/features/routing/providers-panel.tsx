import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { PencilIcon, PlusIcon, PowerOffIcon, ServerIcon, Trash2Icon } from "lucide-react";
import { useState } from "react";
import { routingProvidersDeleteMutation } from "@/client/@tanstack/react-query.gen";
import type { ModelProviderPublic } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { DataTable, type Column } from "@/components/data-table";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { KillSwitchDialog } from "./kill-switches-panel";
import { ProviderDialog } from "./provider-dialog";
import { invalidateProviders, killsQueryOptions, providersQueryOptions } from "./queries";

/** Providers (keys shown as set or not, never returned), with create, edit, delete and switch off. */
export function ProvidersPanel() {
  const queryClient = useQueryClient();
  const mayWrite = useCan("routing:write");
  const list = useQuery(providersQueryOptions());
  const kills = useQuery(killsQueryOptions());
  const [editing, setEditing] = useState<ModelProviderPublic | null>(null);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<ModelProviderPublic | null>(null);
  const [killing, setKilling] = useState<string | null>(null);
  const remove = useMutation({ ...routingProvidersDeleteMutation(), onSettled: () => invalidateProviders(queryClient) });
  const killed = new Map((kills.data?.items ?? []).filter((k) => k.scope === "provider").map((k) => [k.value, k.reason]));

  const columns: Column<ModelProviderPublic>[] = [
    {
      id: "name",
      header: "Name",
      cell: (p) => (
        <span className="flex flex-wrap items-center gap-1.5">
          <span className="font-medium">{p.name}</span>
          {killed.has(p.name) ? (
            <Badge variant="danger" title={killed.get(p.name)}>
              Switched off
            </Badge>
          ) : null}
        </span>
      ),
    },
    { id: "kind", header: "Format", cell: (p) => <Badge variant="outline">{p.kind}</Badge> },
    { id: "url", header: "Base URL", className: "max-w-72", cell: (p) => <span className="block truncate font-mono text-xs" title={p.baseUrl}>{p.baseUrl}</span> },
    { id: "region", header: "Region", cell: (p) => p.region || "—" },
    {
      id: "key",
      header: "API key",
      cell: (p) =>
        p.keySet ? (
          <Badge variant="success" title={`Sealed with data key ${p.keySealedWith ?? "?"}, set ${formatDateTime(p.keySetAt, true)}`}>
            Key set
          </Badge>
        ) : (
          <Badge variant="outline">No key</Badge>
        ),
    },
    { id: "updated", header: "Updated", cell: (p) => <span className="whitespace-nowrap">{formatDateTime(p.updatedAt)}</span> },
    ...(mayWrite
      ? [
          {
            id: "actions",
            header: "Actions",
            srOnlyHeader: true,
            cell: (p: ModelProviderPublic) => (
              <span className="flex flex-wrap gap-1">
                <Button variant="ghost" size="sm" onClick={() => setEditing(p)} aria-label={`Edit provider ${p.name}`}>
                  <PencilIcon aria-hidden="true" />
                  Edit
                </Button>
                {killed.has(p.name) ? null : (
                  <Button variant="ghost" size="sm" onClick={() => setKilling(p.name)} aria-label={`Switch off provider ${p.name}`}>
                    <PowerOffIcon aria-hidden="true" />
                    Switch off
                  </Button>
                )}
                <Button variant="ghost" size="sm" onClick={() => setDeleting(p)} aria-label={`Delete provider ${p.name}`}>
                  <Trash2Icon aria-hidden="true" />
                  Delete
                </Button>
              </span>
            ),
          },
        ]
      : []),
  ];

  return (
    <div className="grid min-w-0 grid-cols-1 gap-4">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <p className="max-w-2xl text-sm text-muted-foreground">
          The model providers the gateway calls. API keys are write-only: they are sealed before they are stored and no page or API
          shows them again; a provider only says whether it has one.
        </p>
        {mayWrite ? (
          <Button onClick={() => setCreating(true)}>
            <PlusIcon aria-hidden="true" />
            New provider
          </Button>
        ) : null}
      </div>
      <DataTable
        caption="Model providers"
        columns={columns}
        rows={list.data?.items}
        rowKey={(p) => p.name}
        isPending={list.isPending}
        error={list.error}
        errorTitle="Could not load the providers"
        onRetry={() => void list.refetch()}
        empty={{
          icon: ServerIcon,
          title: "No providers yet",
          description: mayWrite
            ? "Start here: add the endpoint of a model provider (OpenAI, Anthropic, Azure OpenAI or any OpenAI-compatible server such as vLLM, Ollama or `maestro sim-provider`) and its API key. Then create a class that routes to it."
            : "Someone with the routing:write permission adds model providers here.",
          action: mayWrite ? (
            <Button onClick={() => setCreating(true)}>
              <PlusIcon aria-hidden="true" />
              New provider
            </Button>
          ) : undefined,
        }}
      />
      {mayWrite ? (
        <>
          <ProviderDialog open={creating} onOpenChange={setCreating} />
          <ProviderDialog open={editing !== null} onOpenChange={(o) => !o && setEditing(null)} provider={editing} />
          {killing ? (
            <KillSwitchDialog key={killing} open onOpenChange={(o) => !o && setKilling(null)} initial={{ scope: "provider", value: killing }} />
          ) : null}
          <ConfirmDialog
            open={deleting !== null}
            onOpenChange={(o) => !o && setDeleting(null)}
            title={`Delete provider ${deleting?.name ?? ""}?`}
            description="Its sealed key is deleted with it. A provider that is still a candidate of a class cannot be deleted: remove it from those classes first."
            confirmLabel="Delete provider"
            destructive
            onConfirm={async () => {
              if (!deleting) return;
              await remove.mutateAsync({ path: { name: deleting.name } });
              toast({ title: "Provider deleted", description: deleting.name, variant: "success" });
            }}
          />
        </>
      ) : null}
    </div>
  );
}
