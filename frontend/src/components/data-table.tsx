import { useCallback, type ReactNode } from "react";
import { EmptyState, type EmptyStateProps } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { cn } from "@/lib/utils";

export interface Column<T> {
  id: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  className?: string;
  /** Header visually hidden but still announced (e.g. an actions column). */
  srOnlyHeader?: boolean;
}

export interface DataTableProps<T> {
  /** The table's accessible name (rendered as a visually hidden caption). */
  caption: string;
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey: (row: T) => string;
  isPending: boolean;
  error?: unknown;
  errorTitle?: string;
  onRetry?: () => void;
  /** Cursor paging: "Load more" fetches the page after the last one shown. */
  hasNextPage?: boolean;
  isFetchingNextPage?: boolean;
  onLoadMore?: () => void;
  /** Shown when there are no rows at all. */
  empty: EmptyStateProps;
  /** Shown instead when filters are active and nothing matches. */
  filteredEmpty?: EmptyStateProps;
  filtered?: boolean;
  skeletonRows?: number;
  rowClassName?: (row: T) => string | undefined;
  /** Row to highlight and scroll into view (e.g. `?focus=` from a search result). */
  selectedKey?: string | null;
}

export function DataTable<T>({
  caption,
  columns,
  rows,
  rowKey,
  isPending,
  error,
  errorTitle,
  onRetry,
  hasNextPage,
  isFetchingNextPage,
  onLoadMore,
  empty,
  filteredEmpty,
  filtered,
  skeletonRows = 5,
  rowClassName,
  selectedKey,
}: DataTableProps<T>) {
  const scrollToSelected = useCallback((el: HTMLTableRowElement | null) => {
    el?.scrollIntoView({ block: "center" });
  }, []);
  if (error && !rows?.length) {
    return <ErrorState error={error} title={errorTitle} onRetry={onRetry} />;
  }
  if (!isPending && rows && rows.length === 0) {
    return <EmptyState {...(filtered && filteredEmpty ? filteredEmpty : empty)} />;
  }
  return (
    <div className="grid min-w-0 grid-cols-1 gap-3">
      <div className="rounded-lg border">
        <Table aria-busy={isPending || undefined} label={caption}>
          <TableCaption className="sr-only">{caption}</TableCaption>
          <TableHeader>
            <TableRow className="hover:bg-transparent">
              {columns.map((c) => (
                <TableHead key={c.id} scope="col" className={c.className}>
                  {c.srOnlyHeader ? <span className="sr-only">{c.header}</span> : c.header}
                </TableHead>
              ))}
            </TableRow>
          </TableHeader>
          <TableBody>
            {isPending || !rows
              ? Array.from({ length: skeletonRows }, (_, i) => (
                  <TableRow key={`sk-${i}`} className="hover:bg-transparent">
                    {columns.map((c) => (
                      <TableCell key={c.id}>
                        <Skeleton className="h-4 w-full max-w-40" />
                      </TableCell>
                    ))}
                  </TableRow>
                ))
              : rows.map((row) => (
                  <TableRow
                    key={rowKey(row)}
                    className={rowClassName?.(row)}
                    {...(selectedKey && rowKey(row) === selectedKey
                      ? { "data-state": "selected", "aria-current": "true" as const, ref: scrollToSelected }
                      : {})}
                  >
                    {columns.map((c) => (
                      <TableCell key={c.id} className={cn(c.className)}>
                        {c.cell(row)}
                      </TableCell>
                    ))}
                  </TableRow>
                ))}
          </TableBody>
        </Table>
        {isPending ? <span className="sr-only" role="status">Loading {caption.toLowerCase()}…</span> : null}
      </div>
      {error && rows?.length ? <ErrorState error={error} title="Could not load the next page" onRetry={onRetry} compact /> : null}
      {hasNextPage && onLoadMore ? (
        <div className="flex justify-center">
          <Button variant="outline" onClick={onLoadMore} disabled={isFetchingNextPage}>
            {isFetchingNextPage ? "Loading…" : "Load more"}
          </Button>
        </div>
      ) : null}
    </div>
  );
}
