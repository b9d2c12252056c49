import { useInfiniteQuery } from "@tanstack/react-query";
import { BookmarkPlusIcon, LinkIcon, PlayIcon, PlusIcon, RadioIcon, SearchXIcon, WorkflowIcon, XIcon } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import { useLocation } from "react-router";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { formatDateTime, formatRelative } from "@/lib/format";
import { toast } from "@/lib/toast";
import { RequirePermission } from "@/features/auth/require-permission";
import { useCan } from "@/features/auth/session";
import { formatCost, formatDuration } from "./format";
import { useRunsLiveUpdates } from "./live";
import { activeFilterCount, filtersToSearch, runsListQuery, useRunFilters, type Run } from "./queries";
import { RunsFilterBar } from "./runs-filter-bar";
import { deleteView, saveView, useSavedViews } from "./saved-views";
import { IsolationBadge, StatusBadge } from "./status-badge";
import { elapsedMs, useNow } from "./use-now";

const shortSha = (c: string) => (c ? c.slice(0, 10) : "");

/** One line per run: long values are cut short, their whole text in a tooltip (title). */
function runColumns(now: number): Column<Run>[] {
  return [
    {
      id: "run",
      header: "Run",
      className: "max-w-56",
      // a long pipeline name is cut short, never the run number
      cell: (r) => (
        <EnvLink
          to={`/runs/${r.id}`}
          className="flex min-w-0 font-medium underline-offset-4 hover:underline"
          title={`${r.pipelineName} #${r.number} · v${r.version} · ${r.workflowId}`}
        >
          <span className="truncate">{r.pipelineName}</span>
          <span className="shrink-0 whitespace-pre"> #{r.number}</span>
        </EnvLink>
      ),
    },
    {
      id: "status",
      header: "Status",
      cell: (r) => (
        <span className="flex items-center gap-1 whitespace-nowrap">
          <StatusBadge status={r.status} paused={r.paused} />
          <IsolationBadge isolation={r.isolation} />
        </span>
      ),
    },
    {
      id: "steps",
      header: "Steps",
      className: "tabular-nums whitespace-nowrap",
      cell: (r) => `${r.stepsDone}/${r.stepsTotal}`,
    },
    { id: "env", header: "Env", cell: (r) => <Badge variant="outline">{r.env}</Badge> },
    {
      id: "source",
      header: "Branch / commit",
      className: "max-w-44",
      cell: (r) =>
        r.branch || r.commit ? (
          <span className="block truncate text-xs" title={[r.branch, r.commit].filter(Boolean).join(" @ ")}>
            {r.branch ? <span>{r.branch}</span> : null}
            {r.branch && r.commit ? " " : null}
            {r.commit ? <span className="font-mono text-muted-foreground">{shortSha(r.commit)}</span> : null}
          </span>
        ) : (
          <span className="text-muted-foreground">—</span>
        ),
    },
    {
      id: "owner",
      header: "Owner",
      className: "max-w-32",
      cell: (r) => (
        <span className="block truncate" title={r.owner}>
          {r.owner}
        </span>
      ),
    },
    {
      id: "labels",
      header: "Labels",
      className: "max-w-36",
      cell: (r) => {
        const entries = Object.entries(r.labels ?? {});
        const text = entries.map(([k, v]) => `${k}=${v}`).join(", ");
        return entries.length ? (
          <span className="block truncate font-mono text-xs text-muted-foreground" title={text}>
            {text}
          </span>
        ) : null;
      },
    },
    { id: "cost", header: "Cost", className: "text-right tabular-nums whitespace-nowrap", cell: (r) => formatCost(r.costUsd) },
    {
      id: "duration",
      header: "Duration",
      className: "text-right tabular-nums whitespace-nowrap",
      cell: (r) => formatDuration(r.durationMs ?? elapsedMs(r.startedAt, r.finishedAt, now)),
    },
    {
      id: "created",
      header: "Started",
      cell: (r) => (
        <span className="whitespace-nowrap" title={formatDateTime(r.createdAt, true)}>
          {formatRelative(r.createdAt, now)}
        </span>
      ),
    },
  ];
}

function SaveViewDialog({ open, onOpenChange, search }: { open: boolean; onOpenChange: (o: boolean) => void; search: string }) {
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const id = useId();
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) {
      setError("Give the view a name.");
      return;
    }
    saveView(name, search);
    toast({ title: "View saved", description: `“${name.trim()}” is in your saved views (this browser).`, variant: "success" });
    setName("");
    setError("");
    onOpenChange(false);
  }
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? (
        <DialogContent>
          <form onSubmit={submit} className="grid gap-4" noValidate>
            <DialogHeader>
              <DialogTitle>Save this view</DialogTitle>
              <DialogDescription>
                Saves the current filters under a name in this browser. To share a view, copy its link: the URL holds the
                filters.
              </DialogDescription>
            </DialogHeader>
            <div className="grid gap-2">
              <Label htmlFor={id}>Name</Label>
              <Input
                id={id}
                value={name}
                autoComplete="off"
                aria-invalid={error ? true : undefined}
                aria-describedby={error ? `${id}-err` : undefined}
                onChange={(e) => setName(e.target.value)}
              />
              {error ? (
                <p id={`${id}-err`} className="text-sm text-danger">
                  {error}
                </p>
              ) : null}
            </div>
            <DialogFooter>
              <Button variant="outline" onClick={() => onOpenChange(false)}>
                Cancel
              </Button>
              <Button type="submit">Save view</Button>
            </DialogFooter>
          </form>
        </DialogContent>
      ) : null}
    </Dialog>
  );
}

function SavedViews({ search }: { search: string }) {
  const views = useSavedViews();
  const location = useLocation();
  const [saving, setSaving] = useState(false);
  const current = new URLSearchParams(search).toString();
  async function copyLink() {
    const url = `${window.location.origin}${location.pathname}${search ? `?${search}` : ""}`;
    try {
      await navigator.clipboard.writeText(url);
      toast({ title: "Link copied", description: "Anyone with access who opens it sees these filters.", variant: "success" });
    } catch {
      toast({ title: "Could not copy", description: url, variant: "destructive" });
    }
  }
  return (
    <div className="flex flex-wrap items-center gap-2" aria-label="Saved views" role="group">
      <span className="text-sm font-medium">Saved views:</span>
      {views.length ? (
        <ul className="flex flex-wrap gap-1.5">
          {views.map((v) => (
            <li key={v.name} className="flex items-center rounded-md border">
              <EnvLink
                to={`/runs${v.search ? `?${v.search}` : ""}`}
                aria-current={new URLSearchParams(v.search).toString() === current ? "true" : undefined}
                className="rounded-l-md px-2 py-1 text-sm hover:bg-accent aria-[current=true]:bg-accent aria-[current=true]:font-semibold"
              >
                {v.name}
              </EnvLink>
              <button
                type="button"
                className="rounded-r-md px-1.5 py-1 text-muted-foreground hover:bg-accent hover:text-foreground"
                aria-label={`Delete saved view ${v.name}`}
                onClick={() => deleteView(v.name)}
              >
                <XIcon className="size-3.5" aria-hidden="true" />
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <span className="text-sm text-muted-foreground">none yet</span>
      )}
      <Button variant="outline" size="sm" onClick={() => setSaving(true)}>
        <BookmarkPlusIcon aria-hidden="true" />
        Save view
      </Button>
      <Button variant="outline" size="sm" onClick={() => void copyLink()}>
        <LinkIcon aria-hidden="true" />
        Copy link
      </Button>
      <SaveViewDialog open={saving} onOpenChange={setSaving} search={search} />
    </div>
  );
}

function RunsView() {
  const { filters, apply, clear, signature } = useRunFilters();
  const live = useRunsLiveUpdates();
  const list = useInfiniteQuery(runsListQuery(filters));
  const rows = list.data?.pages.flatMap((p) => p.items);
  const anyRunning = rows?.some((r) => !r.finishedAt && r.startedAt) ?? false;
  const now = useNow(anyRunning);
  const mayWrite = useCan("pipelines:write");
  const mayRun = useCan("runs:write");
  const filtered = activeFilterCount(filters) > 0;
  const search = filtersToSearch(filters);

  const emptyActions = (
    <div className="flex flex-wrap justify-center gap-2">
      {mayWrite ? (
        <Button asChild>
          <EnvLink to="/pipelines/new">
            <PlusIcon aria-hidden="true" /> Create a pipeline
          </EnvLink>
        </Button>
      ) : null}
      <Button asChild variant="outline">
        <EnvLink to="/pipelines">
          <WorkflowIcon aria-hidden="true" /> Browse pipelines
        </EnvLink>
      </Button>
    </div>
  );

  return (
    <>
      <PageHeader
        title="Runs"
        description="Every pipeline run, newest first. Rows update live as runs start, progress and finish."
        actions={
          <>
            <span role="status" className="flex items-center gap-1.5 text-xs text-muted-foreground">
              <RadioIcon aria-hidden="true" className={live === "open" ? "size-4 text-success" : "size-4"} />
              {live === "open" ? "Live" : live === "connecting" ? "Connecting…" : "Not live"}
            </span>
            {mayRun ? (
              <Button asChild>
                <EnvLink to="/pipelines">
                  <PlayIcon aria-hidden="true" /> Start a run
                </EnvLink>
              </Button>
            ) : null}
          </>
        }
      />
      <div className="grid grid-cols-1 gap-3">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <RunsFilterBar key={signature} filters={filters} onApply={apply} onClear={clear} active={filtered} />
          <SavedViews search={search} />
        </div>
        <DataTable
          caption="Runs, newest first"
          columns={runColumns(now)}
          rows={rows}
          rowKey={(r) => r.id}
          isPending={list.isPending}
          error={list.error}
          errorTitle="Could not load runs"
          onRetry={() => void list.refetch()}
          hasNextPage={list.hasNextPage}
          isFetchingNextPage={list.isFetchingNextPage}
          onLoadMore={() => void list.fetchNextPage()}
          filtered={filtered || Boolean(filters.env)}
          empty={{
            icon: PlayIcon,
            title: "No runs yet",
            description: (
              <>
                Start a first run from a pipeline&apos;s page (“Start run”), after registering one with “Create a pipeline”. From CI
                or a terminal: <code className="rounded bg-muted px-1 font-mono">maestro run pipeline.yaml --follow</code> registers
                the file, runs it and streams its logs.
              </>
            ),
            action: emptyActions,
          }}
          filteredEmpty={{
            icon: SearchXIcon,
            title: "No runs match these filters",
            description: "Widen the status or cost range, check the exact pipeline name, pick all environments, or clear the filters.",
            action: (
              <Button variant="outline" onClick={clear}>
                Clear filters
              </Button>
            ),
          }}
        />
      </div>
    </>
  );
}

export function RunsPage() {
  return (
    <RequirePermission anyOf={["runs:read"]} title="Runs">
      <RunsView />
    </RequirePermission>
  );
}

export const Component = RunsPage;
