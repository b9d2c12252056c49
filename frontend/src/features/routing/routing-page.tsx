import { useQuery } from "@tanstack/react-query";
import { PlusIcon, ServerIcon, WaypointsIcon } from "lucide-react";
import { useNavigate, useSearchParams } from "react-router";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { useEnvHref } from "@/lib/env";
import { formatDateTime } from "@/lib/format";
import { useOpenFromUrl } from "@/lib/url-state";
import { RequirePermission } from "@/features/auth/require-permission";
import { useCan } from "@/features/auth/session";
import { ClassDialog } from "./class-dialog";
import { StreamBadge } from "./event-feed";
import { AliasesLimitsPanel } from "./aliases-limits-panel";
import { GatewayKeysPanel } from "./gateway-keys-panel";
import { KillSwitchesPanel } from "./kill-switches-panel";
import { candidateKey, type RoutingClass } from "./model";
import { ProvidersPanel } from "./providers-panel";
import { classesQueryOptions, providersQueryOptions, useRoutingLiveUpdates } from "./queries";
import { TrafficPanel } from "./traffic-panel";

const TABS = ["classes", "traffic", "providers", "kills", "aliases", "keys"] as const;
type Tab = (typeof TABS)[number];

const columns: Column<RoutingClass>[] = [
  {
    id: "name",
    header: "Class",
    cell: (c) => (
      <span className="grid gap-0.5">
        <EnvLink to={`/routing/classes/${encodeURIComponent(c.name)}`} className="font-medium underline underline-offset-4 hover:no-underline">
          {c.name}
        </EnvLink>
        {c.description ? <span className="text-xs text-muted-foreground">{c.description}</span> : null}
      </span>
    ),
  },
  {
    id: "match",
    header: "Matches",
    cell: (c) => {
      const models = c.match?.models ?? [];
      return models.length ? <span className="font-mono text-xs">{models.join(", ")}</span> : <span className="text-muted-foreground">any model</span>;
    },
  },
  {
    id: "candidates",
    header: "Candidates",
    cell: (c) => (
      <span className="tabular-nums" title={c.candidates.map(candidateKey).join(", ")}>
        {c.candidates.length}
      </span>
    ),
  },
  {
    id: "state",
    header: "State",
    cell: (c) => (
      <span className="flex flex-wrap gap-1">
        {c.pin ? (
          <Badge variant="secondary" title={`${c.pin.reason} (${c.pin.createdBy})`}>
            Pinned to {candidateKey(c.pin)}
          </Badge>
        ) : null}
        {c.downgraded ? (
          <Badge variant="warning" title={c.downgradeReason ?? undefined}>
            Downgraded to {c.downgradeTo}
          </Badge>
        ) : null}
        {!c.pin && !c.downgraded ? <span className="text-sm text-muted-foreground">by score</span> : null}
      </span>
    ),
  },
  { id: "priority", header: "Priority", cell: (c) => <span className="tabular-nums">{c.priority ?? 100}</span> },
  { id: "updated", header: "Updated", cell: (c) => <span className="whitespace-nowrap">{formatDateTime(c.updatedAt)}</span> },
];

function ClassesPanel({ onNew, onProviders }: { onNew: (() => void) | null; onProviders: () => void }) {
  const list = useQuery(classesQueryOptions());
  const providers = useQuery(providersQueryOptions());
  const noProviders = providers.isSuccess && providers.data.items.length === 0;
  return (
    <div className="grid min-w-0 grid-cols-1 gap-4">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <p className="max-w-2xl text-sm text-muted-foreground">
          Request classes in match order: a request goes to the first class whose rules it meets, then to the best of that class&apos;s
          candidates (or its pin, or its downgrade path).
        </p>
        {onNew && list.data?.items.length ? (
          <Button onClick={onNew}>
            <PlusIcon aria-hidden="true" />
            New class
          </Button>
        ) : null}
      </div>
      <DataTable
        caption="Routing classes in match order"
        columns={columns}
        rows={list.data?.items}
        rowKey={(c) => c.name}
        isPending={list.isPending}
        error={list.error}
        errorTitle="Could not load the classes"
        onRetry={() => void list.refetch()}
        empty={
          noProviders
            ? {
                icon: ServerIcon,
                title: "No classes yet",
                description:
                  "Start with a provider: on the Providers tab, add a model provider's endpoint and its API key. Then create a class here: the models it matches and the candidates (provider + model + price) it routes to.",
                action: (
                  <Button onClick={onProviders}>
                    <ServerIcon aria-hidden="true" />
                    Go to Providers
                  </Button>
                ),
              }
            : {
                icon: WaypointsIcon,
                title: "No classes yet",
                description: onNew
                  ? "Create a class: the models it matches (e.g. “fast” or “gpt-4o*”) and its candidates, each a provider and a model with its price. Requests for those models then go to the best candidate."
                  : "Someone with the routing:write permission creates classes here.",
                action: onNew ? (
                  <Button onClick={onNew}>
                    <PlusIcon aria-hidden="true" />
                    New class
                  </Button>
                ) : undefined,
              }
        }
      />
    </div>
  );
}

function RoutingView() {
  const mayWrite = useCan("routing:write");
  const mayKeys = useCan("routing:keys");
  const stream = useRoutingLiveUpdates();
  const navigate = useNavigate();
  const href = useEnvHref();
  const [params, setParams] = useSearchParams();
  const raw = params.get("tab") ?? "classes";
  const tab: Tab = (TABS as readonly string[]).includes(raw) && (raw !== "keys" || mayKeys) ? (raw as Tab) : "classes";
  const [creating, setCreating] = useOpenFromUrl("new");
  const setTab = (v: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (v === "classes") next.delete("tab");
        else next.set("tab", v);
        return next;
      },
      { replace: true },
    );

  return (
    <>
      <PageHeader
        title="Routing Studio"
        description="The model gateway's routing: classes of requests and their candidates with live scores, pins and the downgrade switch, traffic and failovers as they happen, providers and their write-only keys, kill switches and gateway keys."
        actions={<StreamBadge state={stream} />}
      />
      <Tabs value={tab} onValueChange={setTab}>
        <TabsList aria-label="Routing Studio" className="h-auto min-h-9">
          <TabsTrigger value="classes">Classes</TabsTrigger>
          <TabsTrigger value="traffic">Traffic &amp; health</TabsTrigger>
          <TabsTrigger value="providers">Providers</TabsTrigger>
          <TabsTrigger value="kills">Kill switches</TabsTrigger>
          <TabsTrigger value="aliases">Aliases &amp; limits</TabsTrigger>
          {mayKeys ? <TabsTrigger value="keys">Gateway keys</TabsTrigger> : null}
        </TabsList>
        <TabsContent value="classes">
          <h2 className="sr-only">Classes</h2>
          <ClassesPanel onNew={mayWrite ? () => setCreating(true) : null} onProviders={() => setTab("providers")} />
        </TabsContent>
        <TabsContent value="traffic">
          <h2 className="sr-only">Traffic &amp; health</h2>
          <TrafficPanel stream={stream} />
        </TabsContent>
        <TabsContent value="providers">
          <h2 className="sr-only">Providers</h2>
          <ProvidersPanel />
        </TabsContent>
        <TabsContent value="kills">
          <h2 className="sr-only">Kill switches</h2>
          <KillSwitchesPanel />
        </TabsContent>
        <TabsContent value="aliases">
          <h2 className="sr-only">Aliases &amp; limits</h2>
          <AliasesLimitsPanel />
        </TabsContent>
        {mayKeys ? (
          <TabsContent value="keys">
            <h2 className="sr-only">Gateway keys</h2>
            <GatewayKeysPanel />
          </TabsContent>
        ) : null}
      </Tabs>
      {mayWrite ? (
        <ClassDialog
          open={creating}
          onOpenChange={setCreating}
          onSaved={(c) => navigate(href(`/routing/classes/${encodeURIComponent(c.name)}`))}
        />
      ) : null}
    </>
  );
}

export function RoutingPage() {
  return (
    <RequirePermission anyOf={["routing:read"]} title="Routing Studio">
      <RoutingView />
    </RequirePermission>
  );
}

export const Component = RoutingPage;
