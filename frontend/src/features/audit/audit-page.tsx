import { useInfiniteQuery } from "@tanstack/react-query";
import { ScrollTextIcon, SearchXIcon } from "lucide-react";
import { auditListInfiniteOptions } from "@/client/@tanstack/react-query.gen";
import type { AuditListResponse } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { FilterBar } from "@/components/filter-bar";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";
import { formatDateTime, isoToLocalInput, localInputToIso } from "@/lib/format";
import { cursorPaging, definedOnly, useUrlFilters } from "@/lib/url-state";
import { RequirePermission } from "@/features/auth/require-permission";
import { AuditVerifyBadge } from "./audit-verify-badge";

type AuditEvent = AuditListResponse["items"][number];
const FILTERS = ["actor", "action", "since", "until"] as const;
// `?seq=N` (from a search result) highlights that event; it is not a server-side filter.
const FOCUS = ["seq"] as const;

const short = (hash: string) => (hash.length > 12 ? `${hash.slice(0, 12)}…` : hash);

const columns: Column<AuditEvent>[] = [
  { id: "seq", header: "#", cell: (e) => <span className="font-mono text-xs">{e.seq}</span> },
  { id: "ts", header: "Time", cell: (e) => <span className="whitespace-nowrap">{formatDateTime(e.ts, true)}</span> },
  { id: "actor", header: "Actor", cell: (e) => e.actor },
  { id: "action", header: "Action", cell: (e) => <span className="font-mono text-xs">{e.action}</span> },
  {
    id: "target",
    header: "Target",
    cell: (e) => (
      <span>
        {e.targetType}
        {e.targetId ? <span className="block font-mono text-xs text-muted-foreground">{e.targetId}</span> : null}
      </span>
    ),
  },
  {
    id: "trace",
    header: "Request / trace",
    cell: (e) => (
      <span className="grid font-mono text-xs text-muted-foreground">
        <span title={e.requestId}>{short(e.requestId)}</span>
        <span title={e.traceId}>{short(e.traceId)}</span>
      </span>
    ),
  },
  {
    id: "hash",
    header: "Hash",
    cell: (e) => (
      <span className="font-mono text-xs" title={`hash ${e.hash}\nprev ${e.prevHash}\nchange ${e.changeDigest}`}>
        {short(e.hash)}
      </span>
    ),
  },
];

function AuditView() {
  const filters = useUrlFilters(FILTERS);
  const focus = useUrlFilters(FOCUS).values.seq || null;
  const { actor, action, since, until } = filters.values;
  const list = useInfiniteQuery({
    ...auditListInfiniteOptions({ query: { limit: 50, ...definedOnly({ actor, action, since, until }) } }),
    ...cursorPaging,
  });
  const rows = list.data?.pages.flatMap((p) => p.items);
  // Times are ISO instants in the URL and local times in the inputs.
  const shown = { ...filters.values, since: isoToLocalInput(since), until: isoToLocalInput(until) };
  const focusLoaded = focus !== null && rows?.some((e) => String(e.seq) === focus);

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every mutation, hash-chained so that any edit or deletion breaks the chain. New entries appear live."
        actions={<AuditVerifyBadge />}
      />
      <div className="grid grid-cols-1 gap-4">
        <FilterBar
          key={filters.signature}
          label="Filter the audit log"
          fields={[
            { key: "actor", label: "Actor", placeholder: "username or token" },
            { key: "action", label: "Action", placeholder: "e.g. token.create" },
            { key: "since", label: "From", type: "datetime-local" },
            { key: "until", label: "Until", type: "datetime-local" },
          ]}
          values={shown}
          onApply={(v) => filters.set({ ...v, since: localInputToIso(v.since), until: localInputToIso(v.until) })}
          onClear={filters.clear}
          active={filters.active}
        />
        {focus !== null && rows && !focusLoaded ? (
          <p className="text-sm text-muted-foreground" role="status">
            Event #{focus} is not among the events loaded so far: use “Load more” below, or narrow the time range.
          </p>
        ) : null}
        <DataTable
          caption="Audit events, newest first"
          columns={columns}
          rows={rows}
          rowKey={(e) => String(e.seq)}
          selectedKey={focus}
          isPending={list.isPending}
          error={list.error}
          errorTitle="Could not load the audit log"
          onRetry={() => void list.refetch()}
          hasNextPage={list.hasNextPage}
          isFetchingNextPage={list.isFetchingNextPage}
          onLoadMore={() => void list.fetchNextPage()}
          filtered={filters.active}
          empty={{
            icon: ScrollTextIcon,
            title: "The audit log is empty",
            description: "Entries appear here as soon as anyone changes something: sign-ins, tokens, users and role bindings.",
          }}
          filteredEmpty={{
            icon: SearchXIcon,
            title: "No audit events match these filters",
            description: "Widen the time range, check the actor's exact username, or clear the filters.",
            action: (
              <Button variant="outline" onClick={filters.clear}>
                Clear filters
              </Button>
            ),
          }}
        />
      </div>
    </>
  );
}

export function AuditPage() {
  return (
    <RequirePermission anyOf={["audit:read"]} title="Audit log">
      <AuditView />
    </RequirePermission>
  );
}

export const Component = AuditPage;
