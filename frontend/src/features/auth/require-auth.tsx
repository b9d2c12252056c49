import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { ErrorState } from "@/components/error-state";
import { Skeleton } from "@/components/ui/skeleton";
import { isStatus } from "@/lib/api-error";
import { useSession } from "./session";

/** What shows while the session or the first route's code loads. */
export function BootFallback() {
  return (
    <div className="flex min-h-screen flex-col" aria-busy="true">
      <main className="grid gap-4 p-6">
        <h1 className="sr-only">Loading Maestro</h1>
        <Skeleton className="h-8 w-64" />
        <Skeleton className="h-32 w-full" />
      </main>
    </div>
  );
}

/** Renders its children once /api/auth/me answers; a 401 sends the user to /login?next=…. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { data, error, isPending, refetch } = useSession();
  const location = useLocation();
  if (isPending) return <BootFallback />;
  if (isStatus(error, 401) || (!data && !error)) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={next && next !== "/" ? `/login?next=${encodeURIComponent(next)}` : "/login"} replace />;
  }
  if (error || !data) {
    return (
      <main className="mx-auto grid max-w-2xl gap-4 p-6">
        <h1 className="text-2xl font-semibold">Maestro is not answering</h1>
        <ErrorState error={error} onRetry={() => void refetch()} />
      </main>
    );
  }
  return children;
}
