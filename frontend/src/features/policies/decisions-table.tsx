import { CheckCircle2Icon, XCircleIcon } from "lucide-react";
import type { DecisionPublic } from "@/client/types.gen";
import { CopyButton } from "@/components/copy-button";
import { DataTable, type Column, type DataTableProps } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { Badge } from "@/components/ui/badge";
import { formatDateTime } from "@/lib/format";
import { shortId } from "@/features/supply/attestations-model";
import { pointLabel } from "./policy-model";

export type Decision = DecisionPublic;

export function AllowedBadge({ allowed }: { allowed: boolean }) {
  return allowed ? (
    <Badge variant="success" data-allowed="true">
      <CheckCircle2Icon aria-hidden="true" />
      allowed
    </Badge>
  ) : (
    <Badge variant="danger" data-allowed="false">
      <XCircleIcon aria-hidden="true" />
      denied
    </Badge>
  );
}

/** A decision's reasons (why it denied), warnings and evaluation error, as a compact list. */
export function DecisionReasons({ decision }: { decision: Pick<Decision, "reasons" | "warnings" | "error"> }) {
  const { reasons, warnings, error } = decision;
  if (!reasons.length && !warnings.length && !error) return <span className="text-muted-foreground">—</span>;
  return (
    <ul className="grid max-w-md gap-0.5 text-xs">
      {reasons.map((r) => (
        <li key={`r:${r}`}>{r}</li>
      ))}
      {warnings.map((w) => (
        <li key={`w:${w}`}>
          <span className="font-semibold">Warning: </span>
          {w}
        </li>
      ))}
      {error ? (
        <li className="text-danger">
          <span className="font-semibold">Error: </span>
          {error}
        </li>
      ) : null}
    </ul>
  );
}

function decisionColumns(showPolicy: boolean): Column<Decision>[] {
  const cols: Column<Decision>[] = [
    { id: "time", header: "Time", cell: (d) => <span className="whitespace-nowrap">{formatDateTime(d.createdAt, true)}</span> },
    { id: "point", header: "Point", cell: (d) => <Badge variant="outline">{pointLabel(d.point)}</Badge> },
    { id: "subject", header: "Subject", cell: (d) => <span className="block max-w-72 text-sm break-words">{d.subject || "—"}</span> },
  ];
  if (showPolicy) {
    cols.push({
      id: "policy",
      header: "Policy",
      cell: (d) => (
        <EnvLink to={`/policies/${encodeURIComponent(d.policyId)}`} className="font-medium underline underline-offset-4 hover:no-underline">
          {d.policyName}
        </EnvLink>
      ),
    });
  }
  cols.push(
    { id: "allowed", header: "Result", cell: (d) => <AllowedBadge allowed={d.allowed} /> },
    { id: "reasons", header: "Reasons", cell: (d) => <DecisionReasons decision={d} /> },
    { id: "revision", header: "Revision", className: "tabular-nums", cell: (d) => `r${d.revision}` },
    {
      id: "input",
      header: "Input digest",
      cell: (d) => (
        <span className="flex items-center gap-1">
          <span className="font-mono text-xs" title={d.inputSha256}>
            {shortId(d.inputSha256)}
          </span>
          <CopyButton
            value={d.inputSha256}
            size="sm"
            variant="ghost"
            label="Copy"
            aria-label={`Copy the input digest of the ${d.policyName} decision at ${formatDateTime(d.createdAt, true)}`}
          />
        </span>
      ),
    },
    {
      id: "batch",
      header: "Decision",
      cell: (d) => (
        <EnvLink
          to={`/policies/decisions?batch=${encodeURIComponent(d.batchId)}`}
          className="font-mono text-xs underline underline-offset-4 hover:no-underline"
          title={`Every policy of decision ${d.batchId}`}
        >
          <span className="sr-only">Decision </span>
          {shortId(d.batchId, 8)}
        </EnvLink>
      ),
    },
  );
  return cols;
}

/** Policy decisions (time, point, subject, result, reasons, revision, input digest, decision id). */
export function DecisionsTable({
  showPolicy = true,
  ...props
}: Omit<DataTableProps<Decision>, "columns" | "rowKey"> & { showPolicy?: boolean }) {
  return <DataTable {...props} columns={decisionColumns(showPolicy)} rowKey={(d) => d.id} />;
}
