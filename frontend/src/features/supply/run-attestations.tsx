import { useQueries, useQuery, useQueryClient, type Query } from "@tanstack/react-query";
import {
  AlertTriangleIcon,
  CheckCircle2Icon,
  DownloadIcon,
  FileSignatureIcon,
  PackageSearchIcon,
  ScaleIcon,
  ShieldOffIcon,
  XCircleIcon,
} from "lucide-react";
import { useEffect, useId, useMemo, useRef, useState, type ReactNode } from "react";
import {
  policiesDecisionsOptions,
  runsAttestationsOptions,
  runsSbomDiffOptions,
  runsSbomOptions,
} from "@/client/@tanstack/react-query.gen";
import type { Attestations, DecisionPublic, SbomDiff, SignatureCheck } from "@/client/types.gen";
import { CopyButton } from "@/components/copy-button";
import { DataTable, type Column } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { queryKeyOf } from "@/lib/query-keys";
import { useCan } from "@/features/auth/session";
import { AllowedBadge, DecisionReasons } from "@/features/policies/decisions-table";
import type { RunDetail } from "@/features/runs/queries";
import { StatusBadge } from "@/features/runs/status-badge";
import {
  allDecisionIds,
  describeChange,
  filterComponents,
  gateSteps,
  provenanceFacts,
  sbomComponentRows,
  sbomDiffSections,
  shortId,
  slsaLevelInfo,
  type GateStep,
  type SbomComponentRow,
} from "./attestations-model";

const SUPPLY_QUERIES = new Set(["runsAttestations", "runsSbom", "runsSbomDiff"]);
/** Components shown before "Show all" (an SBOM can list thousands). */
const COMPONENT_PAGE = 100;

function isRunSupplyQuery(q: Query, runId: string): boolean {
  const key = queryKeyOf(q);
  return Boolean(key?._id && SUPPLY_QUERIES.has(key._id) && key.path?.run_id === runId);
}

/** Attestations are computed from the run's steps and artifacts: reload them when those change. */
function useRefreshOnRunChange(run: RunDetail) {
  const queryClient = useQueryClient();
  const version = `${run.status}|${run.artifacts.length}|${run.finishedAt ?? ""}`;
  const seen = useRef(version);
  useEffect(() => {
    if (seen.current === version) return;
    seen.current = version;
    void queryClient.invalidateQueries({ predicate: (q) => isRunSupplyQuery(q, run.id) });
  }, [queryClient, run.id, version]);
}

function SectionCard({ id, title, description, children, testId }: { id: string; title: string; description?: ReactNode; children: ReactNode; testId?: string }) {
  return (
    <Card aria-labelledby={id} data-testid={testId}>
      <CardHeader>
        <CardTitle id={id}>{title}</CardTitle>
        {description ? <CardDescription>{description}</CardDescription> : null}
      </CardHeader>
      <CardContent className="grid min-w-0 gap-4">{children}</CardContent>
    </Card>
  );
}

function VerifiedBadge({ verified, what }: { verified: boolean; what?: string }) {
  return verified ? (
    <Badge variant="success" data-verified="true">
      <CheckCircle2Icon aria-hidden="true" />
      verified
    </Badge>
  ) : (
    <Badge variant="danger" data-verified="false">
      <XCircleIcon aria-hidden="true" />
      not verified{what ? <span className="sr-only"> ({what})</span> : null}
    </Badge>
  );
}

function Facts({ children, label }: { children: ReactNode; label?: string }) {
  return (
    <dl className="grid gap-x-4 gap-y-2 text-sm sm:grid-cols-[minmax(9rem,auto)_1fr]" aria-label={label}>
      {children}
    </dl>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <>
      <dt className="text-muted-foreground">{term}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </>
  );
}

function Problems({ problems }: { problems: string[] }) {
  return (
    <section
      aria-labelledby="attestation-problems"
      className="grid gap-2 rounded-lg border border-amber-300 bg-amber-50 p-4 text-amber-950 dark:border-amber-800 dark:bg-amber-950/60 dark:text-amber-50"
      data-testid="attestation-problems"
    >
      <h2 id="attestation-problems" className="flex items-center gap-2 text-base font-semibold">
        <AlertTriangleIcon className="size-4" aria-hidden="true" />
        Problems ({problems.length})
      </h2>
      <ul className="grid list-disc gap-1 pl-6 text-sm">
        {problems.map((p) => (
          <li key={p} className="break-words">
            {p}
          </li>
        ))}
      </ul>
    </section>
  );
}

function SlsaLevel({ level }: { level: number }) {
  const info = slsaLevelInfo(level);
  return (
    <SectionCard id="slsa-level" title="SLSA Build level" testId="slsa-card">
      <div className="flex flex-wrap items-center gap-3">
        <Badge variant={info.level === 2 ? "success" : info.level === 1 ? "warning" : "outline"} className="px-3 py-1 text-sm" data-testid="slsa-level">
          {info.label}
        </Badge>
        <p className="text-sm">{info.explanation}</p>
      </div>
      <p className="text-xs text-muted-foreground">
        L2: provenance generated and signed by the control plane verifies. L1: provenance present but not verified. L0: no provenance.
      </p>
    </SectionCard>
  );
}

function Provenance({ run, data }: { run: RunDetail; data: Attestations }) {
  const p = data.provenance;
  const facts = useMemo(() => provenanceFacts(p?.statement), [p?.statement]);
  if (!p) {
    return (
      <SectionCard id="provenance" title="Provenance" testId="provenance-card">
        <EmptyState
          icon={ShieldOffIcon}
          title="No provenance: only successful runs get signed provenance"
          description={
            run.status === "succeeded"
              ? "This run succeeded but has no provenance record; the problems above say why."
              : `This run is ${run.status}. When a run succeeds, the control plane writes SLSA provenance for its artifacts and signs it.`
          }
        />
      </SectionCard>
    );
  }
  return (
    <SectionCard
      id="provenance"
      title="Provenance"
      testId="provenance-card"
      description="An in-toto statement (SLSA provenance v1) in a DSSE envelope, signed by the control plane when the run succeeded, checked again now."
    >
      <Facts label="Provenance verification">
        <Fact term="Verification">
          <span className="flex flex-wrap items-center gap-2" data-testid="provenance-verified">
            <VerifiedBadge verified={p.verified} what="provenance" />
            {p.error ? <span className="text-danger">{p.error}</span> : null}
          </span>
        </Fact>
        <Fact term="Signing key">
          <span className="flex items-center gap-1">
            <span className="font-mono text-xs" title={p.keyid} data-testid="provenance-keyid">
              {shortId(p.keyid, 16)}
            </span>
            <CopyButton value={p.keyid} size="sm" variant="ghost" label="Copy" aria-label="Copy the signing key id" />
          </span>
        </Fact>
        <Fact term="Subjects">
          <span className="tabular-nums" data-testid="provenance-subjects">
            {p.subjects}
          </span>{" "}
          <span className="text-muted-foreground">artifact{p.subjects === 1 ? "" : "s"} with their digests</span>
        </Fact>
        <Fact term="Builder id">
          <span className="font-mono text-xs break-all">{facts.builderId || "—"}</span>
        </Fact>
        <Fact term="Build type">
          <span className="font-mono text-xs break-all">{facts.buildType || "—"}</span>
        </Fact>
        {facts.invocationId ? (
          <Fact term="Invocation">
            <span className="font-mono text-xs break-all">{facts.invocationId}</span>
          </Fact>
        ) : null}
        <Fact term="External parameters">
          {facts.externalParameters.length ? (
            <dl className="grid gap-x-3 gap-y-1 sm:grid-cols-[auto_1fr]">
              {facts.externalParameters.map(([k, v]) => (
                <div key={k} className="contents">
                  <dt className="font-mono text-xs text-muted-foreground">{k}</dt>
                  <dd className="font-mono text-xs break-all">{v || "—"}</dd>
                </div>
              ))}
            </dl>
          ) : (
            "—"
          )}
        </Fact>
        <Fact term="Resolved dependencies">
          {facts.resolvedDependencies.length ? (
            <ul className="grid gap-1.5">
              {facts.resolvedDependencies.map((d, i) => (
                <li key={`${d.uri}:${i}`} className="grid gap-0.5">
                  {d.name ? <span>{d.name}</span> : null}
                  <span className="font-mono text-xs break-all">{d.uri}</span>
                  {d.digest.map(([alg, v]) => (
                    <span key={alg} className="font-mono text-xs break-all text-muted-foreground">
                      {alg}: {v}
                    </span>
                  ))}
                </li>
              ))}
            </ul>
          ) : (
            "—"
          )}
        </Fact>
      </Facts>
      <div>
        <Button asChild variant="outline" size="sm">
          <a href={`/api/runs/${encodeURIComponent(run.id)}/provenance`} download={`provenance-${run.id}.dsse.json`}>
            <DownloadIcon aria-hidden="true" />
            Download provenance
          </a>
        </Button>
      </div>
    </SectionCard>
  );
}

const signatureColumns: Column<SignatureCheck>[] = [
  { id: "path", header: "Artifact", cell: (s) => <span className="font-mono text-sm break-all">{s.path}</span> },
  {
    id: "sha",
    header: "SHA-256",
    cell: (s) => (
      <span className="font-mono text-xs" title={s.sha256}>
        {shortId(s.sha256, 16)}
      </span>
    ),
  },
  { id: "verified", header: "Signature", cell: (s) => <VerifiedBadge verified={s.verified} what={s.path} /> },
  {
    id: "key",
    header: "Key",
    cell: (s) => (
      <span className="font-mono text-xs" title={s.keyid}>
        {shortId(s.keyid, 12)}
      </span>
    ),
  },
  {
    id: "copy",
    header: "Copy",
    srOnlyHeader: true,
    cell: (s) => <CopyButton value={s.signature} size="sm" label="Copy signature" aria-label={`Copy signature of ${s.path}`} />,
  },
];

function Signatures({ data }: { data: Attestations }) {
  const ok = data.signatures.filter((s) => s.verified).length;
  return (
    <SectionCard
      id="signatures"
      title="Artifact signatures"
      testId="signatures-card"
      description={
        data.signatures.length
          ? `${ok} of ${data.signatures.length} signature${data.signatures.length === 1 ? "" : "s"} verify against the stored artifact bytes (cosign sign-blob compatible, ECDSA P-256).`
          : undefined
      }
    >
      {data.signatures.length ? (
        <DataTable caption="Artifact signatures" columns={signatureColumns} rows={data.signatures} rowKey={(s) => `${s.path}:${s.sha256}`} isPending={false} empty={{ title: "", description: "" }} />
      ) : (
        <EmptyState
          icon={FileSignatureIcon}
          title={
            <>
              No signatures: add a step with <code className="font-mono">uses: sign</code>
            </>
          }
          description={
            <>
              A <code className="font-mono">uses: sign</code> step with <code className="font-mono">with: {"{artifacts: [globs]}"}</code>{" "}
              signs the run's matching artifacts with the control plane's key.
            </>
          }
        />
      )}
    </SectionCard>
  );
}

const componentColumns: Column<SbomComponentRow>[] = [
  { id: "name", header: "Name", cell: (c) => <span className="font-medium">{c.name || "—"}</span> },
  { id: "version", header: "Version", cell: (c) => <span className="font-mono text-xs">{c.version || "—"}</span> },
  { id: "purl", header: "Package URL", cell: (c) => <span className="font-mono text-xs break-all">{c.purl || "—"}</span> },
  { id: "license", header: "License", cell: (c) => c.license || <span className="text-muted-foreground">unknown</span> },
];

function SbomComponents({ runId }: { runId: string }) {
  const id = useId();
  const sbom = useQuery({ ...runsSbomOptions({ path: { run_id: runId } }), staleTime: 5 * 60_000 });
  const rows = useMemo(() => (sbom.data ? sbomComponentRows(sbom.data) : undefined), [sbom.data]);
  const [filter, setFilter] = useState("");
  const [all, setAll] = useState(false);
  const matching = useMemo(() => (rows ? filterComponents(rows, filter) : undefined), [rows, filter]);
  const shown = matching && !all ? matching.slice(0, COMPONENT_PAGE) : matching;
  return (
    <section className="grid min-w-0 gap-3" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} className="text-base font-semibold">
        Components
      </h3>
      {rows && rows.length > 0 ? (
        <div className="flex flex-wrap items-end gap-3">
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-filter`}>Filter components</Label>
            <Input
              id={`${id}-filter`}
              type="search"
              className="w-72"
              value={filter}
              placeholder="name, purl, version or license"
              onChange={(e) => setFilter(e.target.value)}
              aria-describedby={`${id}-count`}
            />
          </div>
          <p id={`${id}-count`} className="pb-2 text-sm text-muted-foreground" aria-live="polite">
            {matching?.length === rows.length ? `${rows.length} components` : `${matching?.length ?? 0} of ${rows.length} components match`}
          </p>
        </div>
      ) : null}
      <DataTable
        caption="SBOM components"
        columns={componentColumns}
        rows={shown}
        rowKey={(c) => c.key}
        isPending={sbom.isPending}
        error={sbom.error}
        errorTitle="Could not load the SBOM"
        onRetry={() => void sbom.refetch()}
        filtered={filter.trim() !== ""}
        empty={{ icon: PackageSearchIcon, title: "The SBOM lists no components", description: "The `uses: sbom` step found no lock file or installed packages to describe." }}
        filteredEmpty={{ icon: PackageSearchIcon, title: "No component matches", description: "Try another name, purl, version or license." }}
      />
      {matching && !all && matching.length > COMPONENT_PAGE ? (
        <div className="flex justify-center">
          <Button variant="outline" onClick={() => setAll(true)}>
            Show all {matching.length} components
          </Button>
        </div>
      ) : null}
    </section>
  );
}

function SbomDiffView({ diff }: { diff: SbomDiff }) {
  const { sections, total } = sbomDiffSections(diff);
  return (
    <div className="grid gap-3">
      <p className="text-sm" data-testid="sbom-diff-base">
        {diff.baseRunId ? (
          <>
            Compared with{" "}
            <EnvLink to={`/runs/${encodeURIComponent(diff.baseRunId)}?tab=attestations`} className="underline underline-offset-4 hover:no-underline">
              the base run <span className="font-mono text-xs">{shortId(diff.baseRunId, 12)}</span>
            </EnvLink>
            , the previous successful run of this pipeline with an SBOM: {total === 0 ? "no changes." : `${total} change${total === 1 ? "" : "s"}.`}
          </>
        ) : (
          <>First SBOM of this pipeline: no earlier successful run has an SBOM to compare with, so every component counts as added.</>
        )}
      </p>
      <dl className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6" aria-label="SBOM changes by kind">
        {sections.map((s) => (
          <div key={s.key} className="grid gap-0.5 rounded-lg border p-2">
            <dt className="text-xs font-medium text-muted-foreground">{s.label}</dt>
            <dd className="text-lg font-semibold tabular-nums" data-testid={`sbom-diff-${s.key}`}>
              {s.count}
            </dd>
          </div>
        ))}
      </dl>
      {sections
        .filter((s) => s.count > 0)
        .map((s) => (
          <div key={s.key} className="grid gap-1">
            <h4 id={`sbom-diff-${s.key}-title`} className="text-sm font-semibold">
              {s.label} ({s.count})
            </h4>
            <div
              role="region"
              aria-labelledby={`sbom-diff-${s.key}-title`}
              // A scrollable region must be focusable so keyboard users can scroll it (axe scrollable-region-focusable).
              // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
              tabIndex={0}
              className="max-h-64 overflow-y-auto rounded-md border p-2 focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
            >
              <ul className="grid gap-0.5 text-sm">
                {s.items.map((c, i) => (
                  <li key={`${c.purl}:${i}`} className="flex flex-wrap items-baseline gap-x-2">
                    <span>{describeChange(s.key, c)}</span>
                    <span className="font-mono text-xs break-all text-muted-foreground">{c.purl}</span>
                  </li>
                ))}
              </ul>
            </div>
          </div>
        ))}
    </div>
  );
}

function Sbom({ run, data }: { run: RunDetail; data: Attestations }) {
  const sbom = data.sbom;
  const diff = useQuery({ ...runsSbomDiffOptions({ path: { run_id: run.id } }), enabled: sbom !== null });
  if (!sbom) {
    return (
      <SectionCard id="sbom" title="SBOM" testId="sbom-card">
        <EmptyState
          icon={PackageSearchIcon}
          title={
            <>
              No SBOM: add a step with <code className="font-mono">uses: sbom</code>
            </>
          }
          description="It writes a CycloneDX software bill of materials from the run's lock files (requirements, uv, poetry, npm) as an artifact; each run's is compared with the previous one."
        />
      </SectionCard>
    );
  }
  return (
    <SectionCard id="sbom" title="SBOM" testId="sbom-card" description="The CycloneDX software bill of materials the run produced.">
      <Facts label="SBOM summary">
        <Fact term="Components">
          <span className="tabular-nums" data-testid="sbom-components">
            {sbom.components}
          </span>
        </Fact>
        <Fact term="SHA-256">
          <span className="flex items-center gap-1">
            <span className="font-mono text-xs" title={sbom.sha256}>
              {shortId(sbom.sha256, 16)}
            </span>
            <CopyButton value={sbom.sha256} size="sm" variant="ghost" label="Copy" aria-label="Copy the SHA-256 of the SBOM" />
          </span>
        </Fact>
      </Facts>
      <div>
        <Button asChild variant="outline" size="sm">
          <a href={`/api/runs/${encodeURIComponent(run.id)}/sbom`} download={`sbom-${run.id}.cdx.json`}>
            <DownloadIcon aria-hidden="true" />
            Download SBOM
          </a>
        </Button>
      </div>
      <section className="grid gap-3" aria-labelledby="sbom-diff-title">
        <h3 id="sbom-diff-title" className="text-base font-semibold">
          Changes since the base run
        </h3>
        {diff.data ? (
          <SbomDiffView diff={diff.data} />
        ) : diff.error ? (
          <ErrorState error={diff.error} title="Could not compare the SBOM" onRetry={() => void diff.refetch()} compact />
        ) : (
          <div aria-busy="true">
            <span className="sr-only" role="status">
              Comparing the SBOM…
            </span>
            <Skeleton className="h-20 w-full" />
          </div>
        )}
      </section>
      <SbomComponents runId={run.id} />
    </SectionCard>
  );
}

const decisionColumns: Column<DecisionPublic>[] = [
  {
    id: "policy",
    header: "Policy",
    cell: (d) => (
      <EnvLink to={`/policies/${encodeURIComponent(d.policyId)}`} className="font-medium underline underline-offset-4 hover:no-underline">
        {d.policyName}
      </EnvLink>
    ),
  },
  { id: "result", header: "Result", cell: (d) => <AllowedBadge allowed={d.allowed} /> },
  { id: "reasons", header: "Reasons", cell: (d) => <DecisionReasons decision={d} /> },
  { id: "revision", header: "Revision", className: "tabular-nums", cell: (d) => `r${d.revision}` },
];

function GateResult({
  gate,
  decisions,
}: {
  gate: GateStep;
  decisions: Map<string, { data?: DecisionPublic[]; error: unknown; isPending: boolean; refetch: () => unknown }>;
}) {
  const id = useId();
  return (
    <section className="grid gap-2" aria-labelledby={id} data-testid="gate-result">
      <div className="flex flex-wrap items-center gap-2">
        <h3 id={id} className="text-base font-semibold">
          Step {gate.name}
        </h3>
        <StatusBadge status={gate.status} />
      </div>
      {gate.message ? <p className="text-sm break-words">{gate.message}</p> : null}
      {gate.decisionIds.length === 0 ? (
        <p className="text-sm text-muted-foreground">The gate has not decided yet: its decision appears here once the step runs.</p>
      ) : (
        gate.decisionIds.map((did) => {
          const d = decisions.get(did);
          return (
            <div key={did} className="grid gap-1.5">
              <p className="text-xs text-muted-foreground">
                Decision{" "}
                <EnvLink to={`/policies/decisions?batch=${encodeURIComponent(did)}`} className="font-mono underline underline-offset-4 hover:no-underline">
                  {did}
                </EnvLink>
              </p>
              <DataTable
                caption={`Policy decisions of step ${gate.name}`}
                columns={decisionColumns}
                rows={d?.data}
                rowKey={(x) => x.id}
                isPending={d?.isPending ?? true}
                error={d?.error}
                errorTitle="Could not load the decision"
                onRetry={() => void d?.refetch()}
                skeletonRows={2}
                empty={{
                  icon: ScaleIcon,
                  title: "No policy judged this gate",
                  description: "No promote policy was enabled when the gate ran, so nothing refused it.",
                }}
              />
            </div>
          );
        })
      )}
    </section>
  );
}

function PolicyResults({ run }: { run: RunDetail }) {
  const mayRead = useCan("policies:read");
  const gates = useMemo(() => gateSteps(run.steps), [run.steps]);
  const ids = useMemo(() => allDecisionIds(gates), [gates]);
  const results = useQueries({
    queries: ids.map((batch) => ({
      ...policiesDecisionsOptions({ query: { batch, limit: 100 } }),
      enabled: mayRead,
      staleTime: Infinity,
    })),
  });
  const decisions = new Map(
    ids.map((did, i) => {
      const r = results[i];
      return [did, { data: r?.data?.items, error: r?.error, isPending: r?.isPending ?? true, refetch: () => r?.refetch() }] as const;
    }),
  );
  return (
    <SectionCard
      id="policy-results"
      title="Policy results"
      testId="policy-results-card"
      description="What the promote policies decided at this run's gate steps (uses: policy), policy by policy."
    >
      {gates.length === 0 ? (
        <EmptyState
          icon={ScaleIcon}
          title="No policy gate in this run"
          description={
            <>
              Add a step with <code className="font-mono">uses: policy</code> to have the promote policies judge the run's artifacts,
              signatures and SBOM before it goes further.
            </>
          }
        />
      ) : !mayRead ? (
        <>
          {gates.map((g) => (
            <p key={g.key} className="text-sm break-words">
              <span className="font-medium">Step {g.name}: </span>
              {g.message || g.status}
            </p>
          ))}
          <p className="text-sm text-muted-foreground">Seeing each policy's decision needs the policies:read permission.</p>
        </>
      ) : (
        gates.map((g) => <GateResult key={g.key} gate={g} decisions={decisions} />)
      )}
    </SectionCard>
  );
}

/**
 * The Attestations tab: the SLSA level reached, the signed provenance, the artifact signatures,
 * the SBOM with its diff against the previous run, and what the policy gates decided.
 */
export function RunAttestations({ run }: { run: RunDetail }) {
  useRefreshOnRunChange(run);
  const q = useQuery(runsAttestationsOptions({ path: { run_id: run.id } }));
  if (q.error) {
    return <ErrorState error={q.error} title="Could not load the attestations" onRetry={() => void q.refetch()} />;
  }
  if (!q.data) {
    return (
      <div className="grid gap-4" aria-busy="true">
        <span className="sr-only" role="status">
          Loading the attestations…
        </span>
        <Skeleton className="h-24 w-full rounded-xl" />
        <Skeleton className="h-64 w-full rounded-xl" />
        <Skeleton className="h-40 w-full rounded-xl" />
      </div>
    );
  }
  const data = q.data;
  return (
    <div className="grid min-w-0 gap-4" data-testid="run-attestations">
      {data.problems.length ? <Problems problems={data.problems} /> : null}
      <SlsaLevel level={data.slsaLevel} />
      <Provenance run={run} data={data} />
      <Signatures data={data} />
      <Sbom run={run} data={data} />
      <PolicyResults run={run} />
    </div>
  );
}
