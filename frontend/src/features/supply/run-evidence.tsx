import { useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { ArchiveIcon, CheckCircle2Icon, DownloadIcon, FileArchiveIcon, KeyRoundIcon, RotateCwIcon, XCircleIcon } from "lucide-react";
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { evidenceCreateMutation, evidenceGetOptions, keysListOptions, runsEvidenceOptions } from "@/client/@tanstack/react-query.gen";
import type { EvidencePublic, EvidenceSummary } from "@/client/types.gen";
import { CopyButton } from "@/components/copy-button";
import { DataTable, type Column } from "@/components/data-table";
import { ErrorState } from "@/components/error-state";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime } from "@/lib/format";
import { queryKeyOf } from "@/lib/query-keys";
import { cn } from "@/lib/utils";
import { useCan } from "@/features/auth/session";
import { formatBytes } from "@/features/runs/format";
import type { RunDetail } from "@/features/runs/queries";
import { shortId } from "./attestations-model";
import {
  evidenceFileName,
  generateBlockedReason,
  isEvidenceActive,
  progressPercent,
  ratio,
  summaryProblems,
  verifyCommand,
} from "./evidence-model";

function invalidateRunBundles(queryClient: QueryClient, runId: string) {
  return queryClient.invalidateQueries({
    predicate: (q) => {
      const key = queryKeyOf(q);
      return key?._id === "runsEvidence" && key.path?.run_id === runId;
    },
  });
}

function EvidenceStatusBadge({ status }: { status: string }) {
  const variant = status === "succeeded" ? "success" : status === "failed" ? "danger" : status === "running" ? "warning" : "secondary";
  return (
    <Badge variant={variant} data-testid="evidence-status" data-status={status}>
      {status}
    </Badge>
  );
}

function Progress({ bundle }: { bundle: EvidencePublic }) {
  const pct = progressPercent(bundle.done, bundle.total);
  const stage = bundle.stage || (bundle.status === "pending" ? "waiting for a worker" : "starting");
  const text = bundle.total > 0 ? `${bundle.done} of ${bundle.total} steps, now: ${stage}` : `now: ${stage}`;
  return (
    <div className="grid gap-1.5">
      <div
        role="progressbar"
        aria-label="Witness bundle progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={`${pct}%: ${text}`}
        data-testid="evidence-progress"
        className="relative h-2.5 w-full overflow-hidden rounded-full bg-muted"
      >
        <span className="absolute inset-y-0 left-0 rounded-full bg-primary transition-[width]" style={{ width: `${pct}%` }} />
      </div>
      <p className="text-sm text-muted-foreground" aria-live="polite">
        <span className="tabular-nums">{pct}%</span> · {text}
      </p>
    </div>
  );
}

function Figure({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="grid content-start gap-1 rounded-lg border p-3">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm" data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}

function YesNo({ ok, yes, no }: { ok: boolean; yes: string; no: string }) {
  return ok ? (
    <Badge variant="success">
      <CheckCircle2Icon aria-hidden="true" />
      {yes}
    </Badge>
  ) : (
    <Badge variant="danger">
      <XCircleIcon aria-hidden="true" />
      {no}
    </Badge>
  );
}

function Summary({ s }: { s: EvidenceSummary }) {
  const problems = summaryProblems(s);
  const via = s.syntheticAlertVia ?? [];
  return (
    <div className="grid gap-3" data-testid="evidence-summary">
      <h3 className="text-base font-semibold">What the bundle verified</h3>
      <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2 xl:grid-cols-4">
        <Figure label="Files" testId="evidence-files">
          <span className="text-lg font-semibold tabular-nums">{s.files ?? 0}</span>
        </Figure>
        <Figure label="SLSA Build level" testId="evidence-slsa">
          <span className="text-lg font-semibold">L{s.slsaLevel ?? 0}</span>
        </Figure>
        <Figure label="Provenance" testId="evidence-provenance">
          <YesNo ok={Boolean(s.provenanceVerified)} yes="verified" no="not verified" />
        </Figure>
        <Figure label="Signatures verified" testId="evidence-signatures">
          {ratio(s.signaturesVerified, s.signatures)}
        </Figure>
        <Figure label="Artifacts re-hashed matching" testId="evidence-artifacts">
          {ratio(s.artifactsMatching, s.artifacts)}
        </Figure>
        <Figure label="SBOM" testId="evidence-sbom">
          {s.sbomComponents === null || s.sbomComponents === undefined
            ? "no SBOM in this run"
            : `${s.sbomComponents} component${s.sbomComponents === 1 ? "" : "s"}, ${s.sbomChanges ?? 0} change${s.sbomChanges === 1 ? "" : "s"} since the base run`}
        </Figure>
        <Figure label="Policies and decisions" testId="evidence-policies">
          {s.policies ?? 0} polic{s.policies === 1 ? "y" : "ies"}, {s.decisions ?? 0} decision{s.decisions === 1 ? "" : "s"}
        </Figure>
        <Figure label="SLO snapshot" testId="evidence-slos">
          {s.slos ?? 0} SLO{s.slos === 1 ? "" : "s"}
        </Figure>
        <Figure label="Deny test" testId="evidence-deny-test">
          <span className="grid gap-1">
            {s.denyTestDenied ? (
              <Badge variant="success">
                <CheckCircle2Icon aria-hidden="true" />
                denied
              </Badge>
            ) : (
              <Badge variant="danger">
                <XCircleIcon aria-hidden="true" />
                not denied
              </Badge>
            )}{" "}
            {s.denyTestReasons?.length ? (
              <ul className="grid list-disc gap-0.5 pl-4 text-xs">
                {s.denyTestReasons.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            ) : null}
          </span>
        </Figure>
        <Figure label="Synthetic alert" testId="evidence-synthetic">
          {s.syntheticAlertObserved ? (
            <span className="grid gap-1">
              <YesNo ok yes="observed" no="" />{" "}
              {via.length ? <span className="text-xs">via {via.join(", ")}</span> : null}
            </span>
          ) : (
            <YesNo ok={false} yes="" no="not observed" />
          )}
        </Figure>
      </dl>
      <div className="grid gap-1" data-testid="evidence-problems">
        <h4 className="text-sm font-semibold">Problems</h4>
        {problems.length ? (
          <ul className="grid list-disc gap-0.5 pl-5 text-sm text-danger">
            {problems.map((p) => (
              <li key={p} className="break-words">
                {p}
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-sm text-muted-foreground">None: every check passed.</p>
        )}
      </div>
    </div>
  );
}

function CurrentBundle({ bundle, onRetry, retrying, mayRetry }: { bundle: EvidencePublic; onRetry: () => void; retrying: boolean; mayRetry: boolean }) {
  return (
    <div className="grid gap-4" data-testid="evidence-current">
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span className="font-medium">Bundle</span>
        <span className="font-mono text-xs" title={bundle.id}>
          {shortId(bundle.id, 8)}
        </span>
        <EvidenceStatusBadge status={bundle.status} />
        <span className="text-muted-foreground">
          requested by {bundle.createdBy}, {formatDateTime(bundle.createdAt, true)}
          {bundle.finishedAt ? `; finished ${formatDateTime(bundle.finishedAt, true)}` : ""}
        </span>
      </div>
      {isEvidenceActive(bundle.status) ? <Progress bundle={bundle} /> : null}
      {bundle.status === "failed" ? (
        <div
          role="alert"
          className="grid gap-2 rounded-lg border border-red-300 bg-red-50 p-4 text-sm text-red-950 dark:border-red-800 dark:bg-red-950/60 dark:text-red-50"
        >
          <p className="font-semibold">The witness bundle could not be built</p>
          <p className="break-words">{bundle.error || "The worker gave no reason."}</p>
          {mayRetry ? (
            <div>
              <Button variant="outline" size="sm" onClick={onRetry} disabled={retrying}>
                <RotateCwIcon aria-hidden="true" />
                {retrying ? "Starting…" : "Try again"}
              </Button>
            </div>
          ) : null}
        </div>
      ) : null}
      {bundle.status === "succeeded" && bundle.downloadUrl ? (
        <>
          <div className="flex flex-wrap items-center gap-3">
            <Button asChild>
              <a href={bundle.downloadUrl} download data-testid="evidence-download">
                <DownloadIcon aria-hidden="true" />
                Download witness bundle
              </a>
            </Button>
            <span className="text-sm text-muted-foreground">{evidenceFileName(bundle.runId, bundle.id)}</span>
          </div>
          <dl className="grid gap-x-4 gap-y-2 text-sm sm:grid-cols-[minmax(8rem,auto)_1fr]">
            <dt className="text-muted-foreground">SHA-256</dt>
            <dd className="flex min-w-0 items-center gap-1">
              <span className="font-mono text-xs break-all" data-testid="evidence-sha256">
                {bundle.sha256}
              </span>
              <CopyButton className="shrink-0" value={bundle.sha256} size="sm" variant="ghost" label="Copy" aria-label="Copy the SHA-256 of the bundle" />
            </dd>
            <dt className="text-muted-foreground">Size</dt>
            <dd className="tabular-nums" data-testid="evidence-size">
              {formatBytes(bundle.size)}
            </dd>
            <dt className="text-muted-foreground">Signing key</dt>
            <dd className="flex min-w-0 items-center gap-1">
              <span className="font-mono text-xs" title={bundle.keyid} data-testid="evidence-keyid">
                {shortId(bundle.keyid, 16)}
              </span>
              <CopyButton className="shrink-0" value={bundle.keyid} size="sm" variant="ghost" label="Copy" aria-label="Copy the key id that signed the bundle" />
            </dd>
          </dl>
          <Summary s={bundle.summary} />
        </>
      ) : null}
    </div>
  );
}

function VerifyOffline({ runId, bundle }: { runId: string; bundle: EvidencePublic | undefined }) {
  const keys = useQuery({ ...keysListOptions(), staleTime: 5 * 60_000 });
  const keyid = bundle?.keyid || keys.data?.items.find((k) => k.active)?.keyid || "";
  const fileName = bundle && bundle.status === "succeeded" ? evidenceFileName(runId, bundle.id) : `evidence-${runId}.zip`;
  const command = verifyCommand(fileName);
  return (
    <Card aria-labelledby="verify-offline">
      <CardHeader>
        <CardTitle id="verify-offline">Verify offline</CardTitle>
        <CardDescription>
          Anyone can check the bundle without access to Maestro: the command re-hashes every file against the signed manifest and checks
          the signatures with the public key.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <div className="flex flex-wrap items-center gap-2">
          <code className="min-w-0 rounded bg-muted px-2 py-1 font-mono text-sm break-all" data-testid="evidence-verify-command">
            {command}
          </code>
          <CopyButton value={command} size="sm" label="Copy command" />
        </div>
        <div className="flex flex-wrap items-center gap-3 text-sm">
          {keyid ? (
            <Button asChild variant="outline" size="sm">
              <a href={`/api/keys/${encodeURIComponent(keyid)}.pem`} download="maestro.pub" data-testid="evidence-public-key">
                <KeyRoundIcon aria-hidden="true" />
                Download the public key (maestro.pub)
              </a>
            </Button>
          ) : keys.error ? (
            <ErrorState error={keys.error} title="Could not load the public keys" onRetry={() => void keys.refetch()} compact />
          ) : keys.isPending ? (
            <Skeleton className="h-8 w-64" />
          ) : (
            <span className="text-muted-foreground">No signing key exists yet: one is created with the first signature.</span>
          )}
          <span className="text-muted-foreground">
            or print it with <code className="font-mono">maestro keys export</code>.
          </span>
        </div>
      </CardContent>
    </Card>
  );
}

function bundleColumns(onShow: (id: string) => void, currentId: string | null): Column<EvidencePublic>[] {
  return [
    { id: "created", header: "Requested", cell: (b) => <span className="whitespace-nowrap">{formatDateTime(b.createdAt, true)}</span> },
    { id: "by", header: "By", cell: (b) => b.createdBy },
    {
      id: "status",
      header: "Status",
      cell: (b) => <Badge variant={b.status === "succeeded" ? "success" : b.status === "failed" ? "danger" : "secondary"}>{b.status}</Badge>,
    },
    {
      id: "sha",
      header: "SHA-256",
      cell: (b) =>
        b.sha256 ? (
          <span className="font-mono text-xs" title={b.sha256}>
            {shortId(b.sha256, 16)}
          </span>
        ) : (
          <span className="text-muted-foreground">—</span>
        ),
    },
    { id: "size", header: "Size", className: "tabular-nums", cell: (b) => (b.size ? formatBytes(b.size) : "—") },
    {
      id: "actions",
      header: "Actions",
      srOnlyHeader: true,
      cell: (b) => (
        <span className="flex flex-wrap gap-2">
          <Button
            variant="outline"
            size="sm"
            onClick={() => onShow(b.id)}
            disabled={b.id === currentId}
            aria-label={`Show bundle ${shortId(b.id, 8)}`}
          >
            Show
          </Button>
          {b.downloadUrl ? (
            <Button asChild variant="outline" size="sm">
              <a href={b.downloadUrl} download aria-label={`Download bundle ${shortId(b.id, 8)}`}>
                <DownloadIcon aria-hidden="true" />
                Download
              </a>
            </Button>
          ) : null}
        </span>
      ),
    },
  ];
}

/**
 * The Evidence tab: builds the run's witness bundle (a signed zip of the run record, artifacts
 * re-hashed, provenance, signatures, SBOM and diff, policies and decisions, a deny test, a
 * synthetic alert round trip and an SLO snapshot), follows it while it is built, and offers it
 * for download with what it verified.
 */
export function RunEvidence({ run }: { run: RunDetail }) {
  const reasonId = useId();
  const queryClient = useQueryClient();
  const mayWrite = useCan("runs:write");
  const list = useQuery(runsEvidenceOptions({ path: { run_id: run.id } }));
  const [chosen, setChosen] = useState<string | null>(null);
  const currentId = chosen ?? list.data?.items[0]?.id ?? null;
  const listed = list.data?.items.find((b) => b.id === currentId);
  const current = useQuery({
    ...evidenceGetOptions({ path: { bundle_id: currentId ?? "" } }),
    enabled: currentId !== null,
    refetchInterval: (q) => (isEvidenceActive(q.state.data?.status) ? 1000 : false),
  });
  const bundle = current.data ?? listed;
  const status = bundle?.status;

  // A bundle that starts or finishes changes the list below: reload it.
  const seen = useRef(status);
  useEffect(() => {
    const before = seen.current;
    seen.current = status;
    if (before === undefined || before === status) return;
    void invalidateRunBundles(queryClient, run.id);
  }, [queryClient, run.id, status]);

  const create = useMutation({
    ...evidenceCreateMutation(),
    onSuccess: (b) => {
      queryClient.setQueryData(evidenceGetOptions({ path: { bundle_id: b.id } }).queryKey, b);
      setChosen(b.id);
      void invalidateRunBundles(queryClient, run.id);
    },
  });
  const generate = () => create.mutate({ path: { run_id: run.id } });

  const blocked = generateBlockedReason(run.status, mayWrite) ?? (isEvidenceActive(status) ? "A witness bundle of this run is being built." : null);

  return (
    <div className="grid min-w-0 gap-4" data-testid="run-evidence">
      <Card aria-labelledby="witness-bundle">
        <CardHeader>
          <CardTitle id="witness-bundle">Witness bundle</CardTitle>
          <CardDescription>
            A signed zip that lets anyone check this run after the fact: the run record, its artifacts re-hashed, provenance, signatures,
            SBOM and diff, policies with their decisions, a deny test of the promote gate, a synthetic alert round trip and an SLO
            snapshot. Asking again returns the existing bundle unless it failed.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <div className="grid gap-1.5">
            <div>
              <Button onClick={generate} disabled={Boolean(blocked) || create.isPending} aria-describedby={blocked ? reasonId : undefined}>
                <FileArchiveIcon aria-hidden="true" />
                {create.isPending ? "Starting…" : "Generate witness bundle"}
              </Button>
            </div>
            {blocked ? (
              <p id={reasonId} className="text-sm text-muted-foreground" data-testid="evidence-blocked-reason">
                {blocked}
              </p>
            ) : null}
          </div>
          {create.error ? <ErrorState error={create.error} title="Could not start the witness bundle" compact /> : null}
          {bundle ? (
            <CurrentBundle bundle={bundle} onRetry={generate} retrying={create.isPending} mayRetry={mayWrite} />
          ) : currentId && current.error ? (
            <ErrorState error={current.error} title="Could not load the witness bundle" onRetry={() => void current.refetch()} compact />
          ) : list.isPending ? (
            <div aria-busy="true">
              <span className="sr-only" role="status">
                Loading the witness bundles…
              </span>
              <Skeleton className="h-16 w-full" />
            </div>
          ) : null}
          {current.error && bundle ? (
            <ErrorState error={current.error} title="Could not refresh the bundle's status" onRetry={() => void current.refetch()} compact />
          ) : null}
        </CardContent>
      </Card>
      <VerifyOffline runId={run.id} bundle={bundle} />
      <section className="grid gap-3" aria-labelledby="evidence-history">
        <div className="grid gap-1">
          <h2 id="evidence-history" className="text-lg font-semibold">
            All bundles of this run
          </h2>
          <p className="text-sm text-muted-foreground">Newest first, failed attempts included.</p>
        </div>
        <DataTable
          caption="Witness bundles of this run"
          columns={bundleColumns(setChosen, currentId)}
          rows={list.data?.items}
          rowKey={(b) => b.id}
          isPending={list.isPending}
          error={list.error}
          errorTitle="Could not load the witness bundles"
          onRetry={() => void list.refetch()}
          skeletonRows={2}
          rowClassName={(b) => cn(b.id === currentId && "bg-muted/40")}
          empty={{
            icon: ArchiveIcon,
            title: "No witness bundle yet",
            description: mayWrite
              ? "Generate one above once the run has finished; it appears here with its digest and a download link."
              : "Someone with runs:write generates it once the run has finished; it then appears here with a download link.",
          }}
        />
      </section>
    </div>
  );
}
