import type { SbomChange, SbomDiff, StepPublic } from "@/client/types.gen";

/** `… (decision 3f2a…)`: how a promote gate step (`uses: policy`) names its decision (batch) id. */
const DECISION_IN_MESSAGE = /\(decision ([A-Za-z0-9_-]+)\)/g;

/** Every decision id a step message names, in order, without repeats. */
export function decisionIdsFromMessage(message: string | null | undefined): string[] {
  if (!message) return [];
  const out: string[] = [];
  for (const m of message.matchAll(DECISION_IN_MESSAGE)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}

export interface GateStep {
  key: string;
  name: string;
  status: string;
  message: string;
  decisionIds: string[];
}

/**
 * The run's policy gate steps: those whose message names a decision (`(decision <id>)`), plus
 * `uses: policy` steps that have not decided yet (no id), so the tab can say they are pending.
 */
export function gateSteps(steps: readonly Pick<StepPublic, "key" | "name" | "kind" | "status" | "message" | "outputs">[]): GateStep[] {
  const out: GateStep[] = [];
  for (const s of steps) {
    const ids = decisionIdsFromMessage(s.message);
    const fromOutputs = s.outputs?.decision;
    if (fromOutputs && /^[A-Za-z0-9_-]+$/.test(fromOutputs) && !ids.includes(fromOutputs)) ids.push(fromOutputs);
    if (ids.length || s.kind === "policy") {
      out.push({ key: s.key, name: s.name || s.key, status: s.status, message: s.message, decisionIds: ids });
    }
  }
  return out;
}

/** Decision ids of all gate steps, without repeats (one decisions query each). */
export function allDecisionIds(gates: readonly GateStep[]): string[] {
  return [...new Set(gates.flatMap((g) => g.decisionIds))];
}

export interface SlsaLevelInfo {
  level: 0 | 1 | 2;
  label: string;
  explanation: string;
}

/** The SLSA Build level the API reports, with the one-line reason it was reached. */
export function slsaLevelInfo(level: number): SlsaLevelInfo {
  const l = level >= 2 ? 2 : level >= 1 ? 1 : 0;
  const explanation = {
    2: "Provenance was generated and signed by the control plane, and its signature verifies.",
    1: "Provenance is present but does not verify, so the run only reaches level 1.",
    0: "No provenance: nothing was signed, e.g. because the run did not succeed.",
  }[l];
  return { level: l, label: `SLSA Build L${l}`, explanation };
}

export interface ProvenanceDependency {
  uri: string;
  name: string;
  digest: [string, string][];
}

export interface ProvenanceFacts {
  predicateType: string;
  builderId: string;
  buildType: string;
  invocationId: string;
  externalParameters: [string, string][];
  resolvedDependencies: ProvenanceDependency[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** A parameter value as one line: strings as they are, anything else as compact JSON. */
export function paramText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined) return "";
  return JSON.stringify(v);
}

/** The SLSA v1 provenance fields shown on the page, read defensively from the in-toto statement. */
export function provenanceFacts(statement: Record<string, unknown> | null | undefined): ProvenanceFacts {
  const predicate = isRecord(statement?.predicate) ? statement.predicate : {};
  const build = isRecord(predicate.buildDefinition) ? predicate.buildDefinition : {};
  const details = isRecord(predicate.runDetails) ? predicate.runDetails : {};
  const builder = isRecord(details.builder) ? details.builder : {};
  const metadata = isRecord(details.metadata) ? details.metadata : {};
  const params = isRecord(build.externalParameters) ? build.externalParameters : {};
  const deps = Array.isArray(build.resolvedDependencies) ? build.resolvedDependencies : [];
  return {
    predicateType: text(statement?.predicateType),
    builderId: text(builder.id),
    buildType: text(build.buildType),
    invocationId: text(metadata.invocationId),
    externalParameters: Object.entries(params).map(([k, v]) => [k, paramText(v)]),
    resolvedDependencies: deps.filter(isRecord).map((d) => ({
      uri: text(d.uri),
      name: text(d.name),
      digest: isRecord(d.digest) ? Object.entries(d.digest).map(([alg, v]) => [alg, text(v)]) : [],
    })),
  };
}

export interface SbomComponentRow {
  key: string;
  name: string;
  version: string;
  purl: string;
  license: string;
}

function licenseText(entry: unknown): string {
  if (!isRecord(entry)) return "";
  const lic = isRecord(entry.license) ? entry.license : {};
  return text(lic.id) || text(lic.name) || text(entry.expression);
}

/** The components of a CycloneDX document as table rows (name, version, purl, licenses). */
export function sbomComponentRows(doc: unknown): SbomComponentRow[] {
  const components = isRecord(doc) && Array.isArray(doc.components) ? doc.components.filter(isRecord) : [];
  const seen = new Map<string, number>();
  return components.map((c) => {
    const purl = text(c.purl);
    const name = text(c.name);
    const version = text(c.version);
    const base = purl || `${name}@${version}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    const licenses = Array.isArray(c.licenses) ? c.licenses.map(licenseText).filter(Boolean) : [];
    return { key: n ? `${base}#${n}` : base, name, version, purl, license: licenses.join(", ") };
  });
}

/** Rows whose name, purl, version or license contains every word of `query` (case-insensitive). */
export function filterComponents(rows: readonly SbomComponentRow[], query: string): SbomComponentRow[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...rows];
  return rows.filter((r) => {
    const hay = `${r.name} ${r.version} ${r.purl} ${r.license}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

export type SbomDiffKey = "added" | "removed" | "upgraded" | "downgraded" | "hashChanged" | "licenseChanged";

export const SBOM_DIFF_SECTIONS: { key: SbomDiffKey; label: string }[] = [
  { key: "added", label: "Added" },
  { key: "removed", label: "Removed" },
  { key: "upgraded", label: "Upgraded" },
  { key: "downgraded", label: "Downgraded" },
  { key: "hashChanged", label: "Hash changed" },
  { key: "licenseChanged", label: "License changed" },
];

export interface SbomDiffSection {
  key: SbomDiffKey;
  label: string;
  count: number;
  items: SbomChange[];
}

/** The diff's six sections with their counts, and the total number of changes. */
export function sbomDiffSections(diff: Pick<SbomDiff, SbomDiffKey>): { sections: SbomDiffSection[]; total: number } {
  const sections = SBOM_DIFF_SECTIONS.map(({ key, label }) => {
    const items = diff[key] ?? [];
    return { key, label, count: items.length, items };
  });
  return { sections, total: sections.reduce((n, s) => n + s.count, 0) };
}

/** A change's `from`/`to` (a version or a list of licenses) as text. */
export function changeValueText(v: unknown): string {
  if (v === null || v === undefined || v === "") return "none";
  if (Array.isArray(v)) return v.length ? v.map(String).join(", ") : "none";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** One line describing a change: `name 1.0 → 1.2`, `name 2.0`, or licenses `MIT → Apache-2.0`. */
export function describeChange(key: SbomDiffKey, c: SbomChange): string {
  if (key === "upgraded" || key === "downgraded" || key === "licenseChanged") {
    return `${c.name} ${changeValueText(c.from)} → ${changeValueText(c.to)}`;
  }
  return c.version ? `${c.name} ${c.version}` : c.name;
}

/** The first `n` characters of a digest or key id (the full value stays copyable). */
export function shortId(value: string | null | undefined, n = 12): string {
  if (!value) return "";
  return value.length > n ? `${value.slice(0, n)}…` : value;
}
