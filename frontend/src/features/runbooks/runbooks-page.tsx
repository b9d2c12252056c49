import { useQuery } from "@tanstack/react-query";
import { BookOpenIcon, ChevronRightIcon } from "lucide-react";
import { runbooksListOptions } from "@/client/@tanstack/react-query.gen";
import { EmptyState } from "@/components/empty-state";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Skeleton } from "@/components/ui/skeleton";

/** Every runbook by title: what to do when an alert fires or the stack misbehaves. */
export function RunbooksPage() {
  const list = useQuery({ ...runbooksListOptions(), staleTime: 5 * 60_000 });
  const items = list.data?.items;
  return (
    <>
      <PageHeader
        title="Runbooks"
        description="What to do when an alert fires or the stack misbehaves, step by step. Each alert links to its runbook from its detail page."
      />
      {list.error && !items ? (
        <ErrorState error={list.error} title="Could not load the runbooks" onRetry={() => void list.refetch()} />
      ) : !items ? (
        <div className="grid gap-3 sm:grid-cols-2" aria-busy="true">
          <span className="sr-only" role="status">
            Loading the runbooks…
          </span>
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} className="h-16 w-full rounded-lg" />
          ))}
        </div>
      ) : items.length === 0 ? (
        <EmptyState
          icon={BookOpenIcon}
          title="No runbooks installed"
          description="Runbooks are the Markdown files in docs/runbooks (an installed Maestro carries them in its package). Add one there and it shows up here."
        />
      ) : (
        <ul className="grid gap-3 sm:grid-cols-2" aria-label="Runbooks" data-testid="runbook-list">
          {items.map((rb) => (
            <li key={rb.name}>
              <EnvLink
                to={`/runbooks/${encodeURIComponent(rb.name)}`}
                className="flex h-full items-center gap-3 rounded-lg border bg-card p-4 outline-none hover:bg-accent focus-visible:ring-2 focus-visible:ring-ring"
              >
                <BookOpenIcon className="size-5 shrink-0 text-muted-foreground" aria-hidden="true" />
                <span className="grid min-w-0 flex-1 gap-0.5">
                  <span className="font-medium">{rb.title}</span>
                  <span className="font-mono text-xs text-muted-foreground">{rb.name}</span>
                </span>
                <ChevronRightIcon className="size-4 shrink-0 text-muted-foreground" aria-hidden="true" />
              </EnvLink>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export const Component = RunbooksPage;
