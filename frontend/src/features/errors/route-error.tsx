import { isRouteErrorResponse, Link, useRouteError } from "react-router";
import { ErrorState } from "@/components/error-state";
import { Button } from "@/components/ui/button";
import { ApiError } from "@/lib/api-error";

/** errorElement for pages inside the shell: a page that failed to load or render. */
export function PageError() {
  const error = useRouteError();
  const problem = isRouteErrorResponse(error)
    ? new ApiError({ status: error.status, title: error.statusText || "Error", detail: String(error.data ?? "") })
    : error instanceof Error && /dynamically imported module|Importing a module script failed/i.test(error.message)
      ? new ApiError({
          status: 0,
          title: "This page could not be loaded",
          detail: error.message,
          remediation: "Maestro was probably updated: reload the page to get the new version.",
        })
      : error;
  return (
    <div className="grid max-w-2xl gap-4">
      <h1 className="text-2xl font-semibold">Something went wrong</h1>
      <ErrorState error={problem} onRetry={() => window.location.reload()} />
      <div>
        <Button asChild variant="outline">
          <Link to="/">Back to the Control Hub</Link>
        </Button>
      </div>
    </div>
  );
}

/** errorElement for the root: the whole app failed (no shell around it). */
export function RouteError() {
  return (
    <main id="main" className="mx-auto max-w-2xl p-6">
      <PageError />
    </main>
  );
}
