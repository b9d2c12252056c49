import type { EvidenceSummary } from "@/client/types.gen";

/** Run statuses a witness bundle may describe (maestro/api/routes/evidence.py FINISHED_RUN). */
export const EVIDENCE_RUN_STATUSES = new Set(["succeeded", "failed", "cancelled"]);

export const isEvidenceActive = (status: string | null | undefined) => status === "pending" || status === "running";

/** Whole-number percentage of `done` out of `total`, kept within 0..100 (0 while the total is unknown). */
export function progressPercent(done: number, total: number): number {
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((done / total) * 100)));
}

/** Why the generate button is disabled, or null when it may be pressed. */
export function generateBlockedReason(runStatus: string, canWrite: boolean): string | null {
  if (!canWrite) return "Generating a witness bundle needs the runs:write permission.";
  if (!EVIDENCE_RUN_STATUSES.has(runStatus)) {
    return runStatus === "error"
      ? "The run ended in an error before finishing, so there is no finished run to describe."
      : `The run is ${runStatus}: a witness bundle describes a finished run, so wait for it to finish.`;
  }
  return null;
}

/** The name the API gives the download (`evidence-<run>-<first 8 of the bundle id>.zip`). */
export function evidenceFileName(runId: string, bundleId: string): string {
  return `evidence-${runId}-${bundleId.slice(0, 8)}.zip`;
}

export function verifyCommand(fileName: string): string {
  return `maestro evidence verify ${fileName} --key maestro.pub`;
}

/** "x of y" for counts where 0 of 0 means there was nothing to check. */
export function ratio(ok: number | undefined, all: number | undefined): string {
  const a = all ?? 0;
  if (!a) return "none to check";
  return `${ok ?? 0} of ${a}`;
}

/**
 * Everything in a bundle's summary that should worry a reviewer: the problems the builder
 * recorded, and a deny test that was not denied (the promote gate would let a known-bad change
 * through) even when the builder did not list it.
 */
export function summaryProblems(s: EvidenceSummary): string[] {
  const out = [...(s.problems ?? [])];
  if (s.denyTestDenied === false && !out.some((p) => p.toLowerCase().startsWith("deny test"))) {
    out.push("deny test: the active promote policies allowed a known-bad promotion");
  }
  return [...new Set(out)];
}
