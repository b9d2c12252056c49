import { useInfiniteQuery } from "@tanstack/react-query";
import { ArrowLeftIcon, HistoryIcon, SearchXIcon, XIcon } from "lucide-react";
import { policiesDecisionsInfiniteOptions } from "@/client/@tanstack/react-query.gen";
import { EnvLink } from "@/components/env-link";
import { PageHeader } from "@/components/page-header";
import { FilterGroup, SelectFilter } from "@/components/select-filters";
import { Button } from "@/components/ui/button";
import { cursorPaging, useUrlFilters } from "@/lib/url-state";
import { RequirePermission } from "@/features/auth/require-permission";
import { shortId } from "@/features/supply/attestations-model";
import { DecisionsTable } from "./decisions-table";
import { allowedParam, isPoint, POINT_INFO, POLICY_POINTS } from "./policy-model";

const FILTERS = ["point", "allowed", "policy", "batch"] as const;
const POINT_OPTIONS = POLICY_POINTS.map((p) => ({ value: p, label: POINT_INFO[p].label }));
const RESULT_OPTIONS = [
  { value: "true", label: "Allowed" },
  { value: "false", label: "Denied" },
];

function DecisionsView() {
  const filters = useUrlFilters(FILTERS);
  const { point, allowed, policy, batch } = filters.values;
  const query = {
    limit: 50,
    ...(isPoint(point) ? { point } : {}),
    ...(allowedParam(allowed) !== undefined ? { allowed: allowedParam(allowed) } : {}),
    ...(policy ? { policy } : {}),
    ...(batch ? { batch } : {}),
  };
  const list = useInfiniteQuery({ ...policiesDecisionsInfiniteOptions({ query }), ...cursorPaging });
  const rows = list.data?.pages.flatMap((p) => p.items);
  const policyName = policy ? rows?.find((d) => d.policyId === policy)?.policyName : undefined;

  return (
    <>
      <div className="pb-3">
        <EnvLink to="/policies" className="inline-flex items-center gap-1 text-sm underline underline-offset-4 hover:no-underline">
          <ArrowLeftIcon className="size-4" aria-hidden="true" />
          All policies
        </EnvLink>
      </div>
      <PageHeader
        title="Decision log"
        description="Every policy evaluation, newest first: one row per policy of each decision, with the revision that judged and a digest of what it saw."
      />
      <div className="grid grid-cols-1 gap-4">
        <FilterGroup label="Filter the decisions" active={filters.active} onClear={filters.clear}>
          <SelectFilter
            label="Point"
            className="w-44"
            value={isPoint(point) ? point : ""}
            onChange={(v) => filters.set({ point: v })}
            anyLabel="Any point"
            options={POINT_OPTIONS}
          />
          <SelectFilter
            label="Result"
            className="w-44"
            value={allowedParam(allowed) === undefined ? "" : allowed}
            onChange={(v) => filters.set({ allowed: v })}
            anyLabel="Allowed or denied"
            options={RESULT_OPTIONS}
          />
          {policy ? (
            <Button variant="outline" onClick={() => filters.set({ policy: null })}>
              Policy: {policyName ?? shortId(policy, 8)}
              <span className="sr-only"> (remove this filter)</span>
              <XIcon aria-hidden="true" />
            </Button>
          ) : null}
          {batch ? (
            <Button variant="outline" onClick={() => filters.set({ batch: null })} title={batch}>
              Decision: <span className="font-mono">{shortId(batch, 8)}</span>
              <span className="sr-only"> (remove this filter)</span>
              <XIcon aria-hidden="true" />
            </Button>
          ) : null}
        </FilterGroup>
        <DecisionsTable
          caption="Policy decisions, newest first"
          rows={rows}
          isPending={list.isPending}
          error={list.error}
          errorTitle="Could not load the decisions"
          onRetry={() => void (list.data ? list.fetchNextPage() : list.refetch())}
          hasNextPage={list.hasNextPage}
          isFetchingNextPage={list.isFetchingNextPage}
          onLoadMore={() => void list.fetchNextPage()}
          filtered={filters.active}
          empty={{
            icon: HistoryIcon,
            title: "No decisions yet",
            description:
              "A decision is logged each time enabled policies are evaluated: when a pipeline version is registered (admission), when a run starts, and at `uses: policy` gate steps (promote).",
          }}
          filteredEmpty={{
            icon: SearchXIcon,
            title: "No decisions match these filters",
            description: "Choose another point or result, or clear the filters.",
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

export function DecisionsPage() {
  return (
    <RequirePermission anyOf={["policies:read"]} title="Decision log">
      <DecisionsView />
    </RequirePermission>
  );
}

export const Component = DecisionsPage;
