import { ShieldXIcon } from "lucide-react";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { asProblem } from "@/lib/api-error";
import { decisionBatchOf } from "./model";

/** A policy denial lists each reason the promote policies gave; `errors` carry them one by one. */
function isPolicyDenial(error: unknown): boolean {
  const p = asProblem(error);
  return (p.type === "policy-denied" || p.title === "Denied by policy") && Boolean(p.errors?.length);
}

/**
 * A refused promotion, said the way the API said it: for a policy denial every reason with a
 * link to the decision; otherwise the problem's detail (409 conflicts, 422 fields) and remediation.
 */
export function PromoteProblem({ error, title }: { error: unknown; title: string }) {
  const p = asProblem(error);
  const batch = decisionBatchOf(p.remediation, p.detail);
  if (!isPolicyDenial(error)) {
    return (
      <div className="grid gap-2">
        <ErrorState error={error} title={title} compact />
        {batch ? <DecisionLink batch={batch} /> : null}
      </div>
    );
  }
  return (
    <div
      role="alert"
      data-testid="policy-denial"
      className="flex gap-3 rounded-lg border border-red-300 bg-red-50 p-3 text-red-950 dark:border-red-800 dark:bg-red-950/60 dark:text-red-50"
    >
      <ShieldXIcon className="mt-0.5 size-5 shrink-0" aria-hidden="true" />
      <div className="grid min-w-0 gap-1.5 text-sm">
        <p className="font-semibold">
          Denied by policy{p.status ? <span className="font-normal"> (HTTP {p.status})</span> : null}
        </p>
        <ul className="list-disc pl-5" aria-label="Policy reasons">
          {p.errors!.map((e) => (
            <li key={`${e.field}:${e.message}`}>{e.message}</li>
          ))}
        </ul>
        <p>Fix what the policies name, or ask a policy owner.</p>
        {batch ? <DecisionLink batch={batch} /> : null}
      </div>
    </div>
  );
}

function DecisionLink({ batch }: { batch: string }) {
  return (
    <p className="text-sm">
      <EnvLink to={`/policies/decisions?batch=${encodeURIComponent(batch)}`} className="underline underline-offset-4 hover:no-underline">
        Open the decision in the decision log
      </EnvLink>
    </p>
  );
}
