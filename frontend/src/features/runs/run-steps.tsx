import { DownloadIcon, PackageIcon } from "lucide-react";
import { CopyButton } from "@/components/copy-button";
import { DataTable, type Column } from "@/components/data-table";
import { Button } from "@/components/ui/button";
import { formatDateTime } from "@/lib/format";
import { formatBytes, formatCost, formatDuration, hasLogs } from "./format";
import type { RunDetail, StepPublic } from "./queries";
import { StatusBadge } from "./status-badge";
import { elapsedMs } from "./use-now";

type Artifact = RunDetail["artifacts"][number];

/** Executions whose runner was lost (the step ran again). */
const lost = (s: StepPublic) => (s.executions ?? []).filter((e) => e.status === "lost");

/** Every step with its attempt, exit code, timings and messages (approval decisions included). */
export function RunSteps({ run, now, onShowLogs }: { run: RunDetail; now: number; onShowLogs: (step: string) => void }) {
  const columns: Column<StepPublic>[] = [
    {
      id: "step",
      header: "Step",
      cell: (s) => (
        <div className="grid">
          <span className="font-medium">{s.name || s.key}</span>
          <span className="font-mono text-xs text-muted-foreground">
            {s.key}
            {s.kind !== "run" ? ` · ${s.kind}` : ""}
            {s.needs.length ? ` · needs ${s.needs.join(", ")}` : ""}
          </span>
          {s.isolation === "none" ? (
            <span className="text-xs text-amber-800 dark:text-amber-200">Ran without the step sandbox</span>
          ) : null}
          {s.command ? (
            <details className="text-xs">
              <summary className="cursor-pointer text-muted-foreground">Command</summary>
              <pre
                className="mt-1 max-w-96 overflow-x-auto rounded bg-muted p-2 font-mono whitespace-pre-wrap break-all"
                aria-label={`The command ${s.name || s.key} executes`}
                title="What the shell executes: every ${{ }} is passed as an environment variable, never pasted into the script"
              >
                {s.command}
              </pre>
            </details>
          ) : null}
        </div>
      ),
    },
    { id: "status", header: "Status", cell: (s) => <StatusBadge status={s.status} /> },
    {
      id: "attempt",
      header: "Attempt",
      className: "tabular-nums",
      cell: (s) => {
        const runs = (s.executions ?? []).filter((e) => e.attempt === s.attempt);
        return (
          <div className="grid">
            <span>{s.attempt || "—"}</span>
            {runs.length > 1 ? (
              <span className="text-xs text-muted-foreground" title="A runner was lost and the step ran again">
                {runs.length} executions
              </span>
            ) : null}
          </div>
        );
      },
    },
    { id: "exit", header: "Exit code", className: "tabular-nums", cell: (s) => (s.exitCode === null ? "—" : s.exitCode) },
    {
      id: "duration",
      header: "Duration",
      className: "tabular-nums",
      cell: (s) => formatDuration(s.durationMs ?? elapsedMs(s.startedAt, s.finishedAt, now)),
    },
    { id: "started", header: "Started", cell: (s) => <span className="whitespace-nowrap">{formatDateTime(s.startedAt, true)}</span> },
    { id: "cost", header: "Cost", className: "tabular-nums", cell: (s) => formatCost(s.costUsd) },
    {
      id: "message",
      header: "Message",
      cell: (s) => (
        <div className="grid max-w-80 gap-0.5 text-xs">
          {s.message ? <span>{s.message}</span> : null}
          {s.decidedBy ? (
            <span>
              Decided by <span className="font-medium">{s.decidedBy}</span>
              {s.decisionReason ? `: “${s.decisionReason}”` : ""}
            </span>
          ) : null}
          {s.reusedFrom ? <span className="text-muted-foreground">Reused from run {s.reusedFrom}</span> : null}
          {lost(s).map((e) => (
              <span key={`${e.attempt}.${e.execution}`} className="text-amber-800 dark:text-amber-200" data-testid="lost-execution">
                Attempt {e.attempt}, execution {e.execution}: runner lost on {e.host || "its host"} after {formatDuration(e.durationMs)} (
                {e.logLines ? `${e.logLines} lines, ` : ""}
                {formatCost(e.costUsd)}); ran again
              </span>
            ))}
          {!s.message && !s.decidedBy && !s.reusedFrom && !lost(s).length ? <span className="text-muted-foreground">—</span> : null}
        </div>
      ),
    },
    {
      id: "logs",
      header: "Logs",
      srOnlyHeader: true,
      cell: (s) =>
        hasLogs(s) ? (
          <Button variant="outline" size="sm" onClick={() => onShowLogs(s.key)} aria-label={`Show the logs of ${s.name || s.key}`}>
            Logs{s.logLines ? ` (${s.logLines})` : ""}
          </Button>
        ) : null,
    },
  ];
  return (
    <DataTable
      caption="Steps"
      columns={columns}
      rows={run.steps}
      rowKey={(s) => s.key}
      isPending={false}
      empty={{ title: "No steps", description: "This run has no planned steps." }}
    />
  );
}

/** Artifacts with digest (copyable), size and a download link (the API verifies the digest). */
export function RunArtifacts({ run }: { run: RunDetail }) {
  const columns: Column<Artifact>[] = [
    { id: "path", header: "Path", cell: (a) => <span className="font-mono text-sm break-all">{a.path}</span> },
    { id: "step", header: "Step", cell: (a) => <span className="font-mono text-xs">{a.stepKey}</span> },
    { id: "size", header: "Size", className: "tabular-nums", cell: (a) => formatBytes(a.size) },
    {
      id: "sha",
      header: "SHA-256",
      cell: (a) => (
        <div className="flex items-center gap-2">
          <span className="font-mono text-xs" title={a.sha256} data-testid="artifact-sha256">
            {a.sha256.slice(0, 16)}…
          </span>
          <CopyButton value={a.sha256} size="sm" label="Copy" aria-label={`Copy the SHA-256 of ${a.path}`} />
        </div>
      ),
    },
    {
      id: "download",
      header: "Download",
      srOnlyHeader: true,
      cell: (a) => (
        <Button asChild variant="outline" size="sm">
          <a href={`/api/artifacts/${encodeURIComponent(a.id)}`} download={a.path.split("/").pop() || a.path} aria-label={`Download ${a.path}`}>
            <DownloadIcon aria-hidden="true" /> Download
          </a>
        </Button>
      ),
    },
  ];
  return (
    <DataTable
      caption="Artifacts"
      columns={columns}
      rows={run.artifacts}
      rowKey={(a) => a.id}
      isPending={false}
      empty={{
        icon: PackageIcon,
        title: "No artifacts",
        description: "Steps publish files by listing globs under `artifacts:` in the pipeline spec; they appear here with their digest.",
      }}
    />
  );
}
