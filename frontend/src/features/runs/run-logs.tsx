import { DownloadIcon, ListEndIcon, SearchIcon, XIcon } from "lucide-react";
import { useCallback, useEffect, useId, useMemo, useState, type FormEvent } from "react";
import { useLocation, useNavigate, useSearchParams } from "react-router";
import { ErrorState } from "@/components/error-state";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import { hasLogs, isTerminalRun } from "./format";
import { filterLines, findAnchored, parseLineAnchor } from "./log-model";
import { LogViewer } from "./log-viewer";
import type { RunDetail } from "./queries";
import { useRunLogs } from "./use-run-logs";

/**
 * The Logs tab: the whole run's output (or one step's), live while the run goes on, with a
 * server-side search (`?logq=`), the step filter (`?step=`), line permalinks (`#L<step>-<n>`)
 * and a download of the NDJSON as the API serves it.
 */
export function RunLogs({ run }: { run: RunDetail }) {
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const id = useId();
  const step = params.get("step") || null;
  const q = params.get("logq") ?? "";
  const [draftQ, setDraftQ] = useState(q);
  const live = !isTerminalRun(run.status);
  const logs = useRunLogs(run.id, { live, q });
  const [follow, setFollow] = useState(!location.hash);

  const anchor = location.hash ? parseLineAnchor(location.hash) : null;
  const selected = anchor ? location.hash.slice(1) : null;
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `version` stands for the buffer's growth
  const anchoredIndex = useMemo(() => (anchor ? findAnchored(logs.lines, anchor) : -1), [logs.lines, logs.version, location.hash]);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const shown = useMemo(() => filterLines(logs.lines, step)?.length ?? logs.lines.length, [logs.lines, logs.version, step]);

  const setParam = (key: string, value: string | null) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );

  // A permalink to a line the step filter hides: show every step.
  const hiddenByFilter = anchoredIndex >= 0 && step !== null && logs.lines[anchoredIndex]?.step !== step;
  useEffect(() => {
    if (hiddenByFilter) setParam("step", null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [hiddenByFilter]);

  // Stable across renders so that the memoized log rows do not all re-render on each update.
  const { pathname, search: locationSearch } = location;
  const selectLine = useCallback(
    (a: string) => {
      setFollow(false);
      navigate({ pathname, search: locationSearch, hash: a }, { replace: true });
    },
    [navigate, pathname, locationSearch],
  );

  function search(e: FormEvent) {
    e.preventDefault();
    setParam("logq", draftQ.trim() || null);
  }

  const download = new URLSearchParams();
  if (step) download.set("step", step);
  if (q) download.set("q", q);
  const downloadHref = `/api/runs/${encodeURIComponent(run.id)}/logs${download.toString() ? `?${download.toString()}` : ""}`;
  const fileName = `${run.workflowId}${step ? `-${step.replace(/[^A-Za-z0-9._-]+/g, "_")}` : ""}${q ? "-search" : ""}.ndjson`;

  const statusText =
    logs.state === "loading"
      ? `Loading… ${logs.lines.length} lines so far`
      : `${shown}${step ? ` of ${logs.lines.length}` : ""} line${shown === 1 ? "" : "s"}${q ? ` matching “${q}”` : ""}${
          live && !q ? (logs.stream === "open" ? " · live" : " · connecting to the live stream…") : ""
        }`;

  return (
    <div className="grid gap-3">
      <div className="flex flex-wrap items-end gap-3">
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-step`}>Step</Label>
          <NativeSelect id={`${id}-step`} className="w-56" value={step ?? ""} onChange={(e) => setParam("step", e.target.value || null)}>
            <option value="">All steps</option>
            {run.steps
              .filter(hasLogs)
              .map((s) => (
                <option key={s.key} value={s.key}>
                  {s.name && s.name !== s.key ? `${s.name} (${s.key})` : s.key}
                </option>
              ))}
          </NativeSelect>
        </div>
        <form role="search" aria-label="Search the log" onSubmit={search} className="flex items-end gap-2">
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-q`}>Search (server-side)</Label>
            <Input id={`${id}-q`} type="search" className="w-56" value={draftQ} onChange={(e) => setDraftQ(e.target.value)} placeholder="text in a line" />
          </div>
          <Button type="submit" variant="outline">
            <SearchIcon aria-hidden="true" /> Search
          </Button>
          {q ? (
            <Button
              variant="ghost"
              onClick={() => {
                setDraftQ("");
                setParam("logq", null);
              }}
            >
              <XIcon aria-hidden="true" /> Clear search
            </Button>
          ) : null}
        </form>
        <div className="ml-auto flex flex-wrap gap-2">
          {live && !q ? (
            <Button variant="outline" aria-pressed={follow} onClick={() => setFollow((f) => !f)}>
              <ListEndIcon aria-hidden="true" /> {follow ? "Following output" : "Follow output"}
            </Button>
          ) : null}
          <Button asChild variant="outline">
            <a href={downloadHref} download={fileName}>
              <DownloadIcon aria-hidden="true" /> Download{step || q ? " these lines" : " log"}
            </a>
          </Button>
        </div>
      </div>
      <p className="text-sm text-muted-foreground" role="status" aria-live="polite" data-testid="log-status">
        {statusText}
      </p>
      {logs.state === "error" ? (
        <ErrorState error={logs.error} title="Could not load the log" />
      ) : logs.state === "loading" && logs.lines.length === 0 ? (
        <div className="grid gap-2 rounded-lg border p-3" aria-busy="true">
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} className="h-4 w-full max-w-xl" />
          ))}
        </div>
      ) : logs.lines.length === 0 ? (
        <div className="rounded-lg border border-dashed p-6 text-center text-sm text-muted-foreground">
          {q
            ? `No line contains “${q}”.`
            : live
              ? "No output yet: lines appear here as soon as a step prints them."
              : "This run printed nothing."}
        </div>
      ) : (
        <LogViewer
          lines={logs.lines}
          version={logs.version}
          step={step}
          selected={selected}
          follow={follow && live && !q && anchoredIndex < 0}
          onFollowChange={live && !q ? setFollow : undefined}
          scrollToLine={anchoredIndex >= 0 ? anchoredIndex : null}
          onSelect={selectLine}
          label={`Log of ${run.pipelineName} #${run.number}${step ? `, step ${step}` : ""}`}
        />
      )}
    </div>
  );
}
