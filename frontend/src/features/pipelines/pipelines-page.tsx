import { useInfiniteQuery } from "@tanstack/react-query";
import { PlusIcon, SearchXIcon, WorkflowIcon } from "lucide-react";
import { pipelinesListInfiniteOptions } from "@/client/@tanstack/react-query.gen";
import type { PipelinePublic } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { FilterBar } from "@/components/filter-bar";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";
import { formatDateTime, formatRelative } from "@/lib/format";
import { cursorPaging, definedOnly, useUrlFilters } from "@/lib/url-state";
import { RequirePermission } from "@/features/auth/require-permission";
import { useCan } from "@/features/auth/session";
import { HeatStrip } from "@/features/runs/status-badge";

const FILTERS = ["q"] as const;

const columns: Column<PipelinePublic>[] = [
  {
    id: "name",
    header: "Pipeline",
    cell: (p) => (
      <div className="grid">
        <EnvLink to={`/pipelines/${p.id}`} className="font-medium underline-offset-4 hover:underline">
          {p.name}
        </EnvLink>
        {p.description ? <span className="max-w-md text-xs text-muted-foreground">{p.description}</span> : null}
      </div>
    ),
  },
  { id: "version", header: "Version", className: "tabular-nums", cell: (p) => `v${p.latestVersion}` },
  {
    id: "recent",
    header: "Recent runs",
    cell: (p) => <HeatStrip statuses={p.recentStatuses ?? []} label={`Last runs of ${p.name}`} />,
  },
  {
    id: "updated",
    header: "Updated",
    cell: (p) => <span title={formatDateTime(p.updatedAt, true)}>{formatRelative(p.updatedAt)}</span>,
  },
  { id: "by", header: "Created by", cell: (p) => p.createdBy },
];

function PipelinesView() {
  const filters = useUrlFilters(FILTERS);
  const list = useInfiniteQuery({
    ...pipelinesListInfiniteOptions({ query: { limit: 50, ...definedOnly({ q: filters.values.q }) } }),
    ...cursorPaging,
  });
  const rows = list.data?.pages.flatMap((p) => p.items);
  const mayCreate = useCan("pipelines:write");
  const create = mayCreate ? (
    <Button asChild>
      <EnvLink to="/pipelines/new">
        <PlusIcon aria-hidden="true" /> New pipeline
      </EnvLink>
    </Button>
  ) : null;
  return (
    <>
      <PageHeader
        title="Pipelines"
        description="Versioned DAG specs. Open one to see its graph with the latest run's heat, compare versions, edit it or start a run."
        actions={create}
      />
      <div className="grid grid-cols-1 gap-4">
        <FilterBar
          key={filters.signature}
          label="Filter pipelines"
          fields={[{ key: "q", label: "Name", type: "search", placeholder: "part of the name" }]}
          values={filters.values}
          onApply={(v) => filters.set(v)}
          onClear={filters.clear}
          active={filters.active}
        />
        <DataTable
          caption="Pipelines"
          columns={columns}
          rows={rows}
          rowKey={(p) => p.id}
          isPending={list.isPending}
          error={list.error}
          errorTitle="Could not load pipelines"
          onRetry={() => void list.refetch()}
          hasNextPage={list.hasNextPage}
          isFetchingNextPage={list.isFetchingNextPage}
          onLoadMore={() => void list.fetchNextPage()}
          filtered={filters.active}
          empty={{
            icon: WorkflowIcon,
            title: "No pipelines yet",
            description: (
              <>
                {mayCreate ? "Create one here from a YAML spec, or register" : "Ask someone with pipelines:write to create one, or register"} a
                file from a terminal with <code className="rounded bg-muted px-1 font-mono">maestro run pipeline.yaml --follow</code>.
              </>
            ),
            action: create,
          }}
          filteredEmpty={{
            icon: SearchXIcon,
            title: "No pipeline matches",
            description: "Try a shorter part of the name, or clear the filter.",
            action: (
              <Button variant="outline" onClick={filters.clear}>
                Clear filter
              </Button>
            ),
          }}
        />
      </div>
    </>
  );
}

export function PipelinesPage() {
  return (
    <RequirePermission anyOf={["runs:read"]} title="Pipelines">
      <PipelinesView />
    </RequirePermission>
  );
}

export const Component = PipelinesPage;
