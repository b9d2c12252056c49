import { useQuery } from "@tanstack/react-query";
import { ArrowLeftIcon, FileQuestionIcon } from "lucide-react";
import { useEffect } from "react";
import { useLocation, useParams } from "react-router";
import { runbooksGetOptions } from "@/client/@tanstack/react-query.gen";
import { EmptyState } from "@/components/empty-state";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { isStatus } from "@/lib/api-error";
import { RunbookMarkdown } from "./runbook-markdown";

/** Scrolls to `#anchor` once the runbook is on screen (the router does not, for late content). */
function useScrollToHash(ready: boolean) {
  const { hash } = useLocation();
  useEffect(() => {
    if (!ready || hash.length < 2) return;
    let id = hash.slice(1);
    try {
      id = decodeURIComponent(id);
    } catch {
      // keep the raw fragment
    }
    document.getElementById(id)?.scrollIntoView({ block: "start" });
  }, [ready, hash]);
}

/** One runbook, rendered from its Markdown. */
export function RunbookPage() {
  const { name = "" } = useParams();
  const q = useQuery({ ...runbooksGetOptions({ path: { name } }), staleTime: 5 * 60_000 });
  useScrollToHash(Boolean(q.data));
  const back = (
    <Button asChild variant="ghost" size="sm">
      <EnvLink to="/runbooks">
        <ArrowLeftIcon aria-hidden="true" /> All runbooks
      </EnvLink>
    </Button>
  );

  if (q.data) {
    const rb = q.data;
    return (
      <>
        <PageHeader title={rb.title} description={<span className="font-mono text-xs">docs/runbooks/{rb.name}.md</span>} actions={back} />
        <article aria-label={`Runbook: ${rb.title}`} className="max-w-3xl rounded-xl border bg-card px-5 py-6 sm:px-8">
          <RunbookMarkdown markdown={rb.markdown} />
        </article>
      </>
    );
  }
  if (q.error) {
    if (isStatus(q.error, 404)) {
      return (
        <>
          <PageHeader title="Runbook not found" actions={back} />
          <EmptyState
            icon={FileQuestionIcon}
            title={`There is no runbook named “${name}”`}
            description="Runbooks are addressed by their file name in docs/runbooks (for example slo-burn). The link may be old, or the runbook was renamed."
            action={
              <Button asChild>
                <EnvLink to="/runbooks">See all runbooks</EnvLink>
              </Button>
            }
          />
        </>
      );
    }
    return (
      <>
        <PageHeader title="Runbook" actions={back} />
        <ErrorState error={q.error} title="Could not load the runbook" onRetry={() => void q.refetch()} />
      </>
    );
  }
  return (
    <>
      <PageHeader title="Runbook" actions={back} />
      <div className="grid max-w-3xl gap-3" aria-busy="true">
        <span className="sr-only" role="status">
          Loading the runbook…
        </span>
        <Skeleton className="h-5 w-3/4" />
        <Skeleton className="h-5 w-full" />
        <Skeleton className="h-5 w-5/6" />
        <Skeleton className="h-40 w-full rounded-lg" />
      </div>
    </>
  );
}

export const Component = RunbookPage;
