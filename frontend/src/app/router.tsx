import { createBrowserRouter, Outlet } from "react-router";
import { BootFallback, RequireAuth } from "@/features/auth/require-auth";
import { PageError, RouteError } from "@/features/errors/route-error";

/**
 * Routes are thin and lazy: each page module (and the signed-in shell) exports `Component` and
 * is loaded on first visit, so the entry chunk holds only React, the router, the query cache and
 * the generated client. React Router fetches the shell and the page chunks in parallel.
 */
export const router = createBrowserRouter([
  {
    path: "/login",
    lazy: () => import("@/features/auth/login-page"),
    errorElement: <RouteError />,
    hydrateFallbackElement: <BootFallback />,
  },
  {
    path: "/",
    element: (
      <RequireAuth>
        <Outlet />
      </RequireAuth>
    ),
    errorElement: <RouteError />,
    hydrateFallbackElement: <BootFallback />,
    children: [
      {
        lazy: () => import("@/features/shell/app-shell"),
        children: [
          {
            errorElement: <PageError />,
            children: [
              { index: true, lazy: () => import("@/features/home/home-page") },
              { path: "runs", lazy: () => import("@/features/runs/runs-page") },
              { path: "runs/:runId", lazy: () => import("@/features/runs/run-detail-page") },
              { path: "pipelines", lazy: () => import("@/features/pipelines/pipelines-page") },
              { path: "pipelines/new", lazy: () => import("@/features/pipelines/pipeline-new-page") },
              { path: "pipelines/:pipelineId", lazy: () => import("@/features/pipelines/pipeline-page") },
              { path: "pipelines/:pipelineId/compare", lazy: () => import("@/features/pipelines/compare-page") },
              { path: "rollouts", lazy: () => import("@/features/rollouts/rollouts-page") },
              { path: "rollouts/:rolloutId", lazy: () => import("@/features/rollouts/rollout-detail-page") },
              { path: "routing", lazy: () => import("@/features/routing/routing-page") },
              { path: "routing/classes/:name", lazy: () => import("@/features/routing/class-detail-page") },
              { path: "finops", lazy: () => import("@/features/finops/budgets-page") },
              { path: "finops/budgets/:budgetId", lazy: () => import("@/features/finops/budget-detail-page") },
              { path: "finops/costs", lazy: () => import("@/features/finops/costs-page") },
              { path: "observability", lazy: () => import("@/features/observability/slo-page") },
              { path: "observability/alerts", lazy: () => import("@/features/observability/alerts-page") },
              { path: "observability/alerts/:alertId", lazy: () => import("@/features/observability/alert-detail-page") },
              { path: "observability/insights", lazy: () => import("@/features/observability/insights-page") },
              { path: "policies", lazy: () => import("@/features/policies/policies-page") },
              { path: "policies/decisions", lazy: () => import("@/features/policies/decisions-page") },
              { path: "policies/:policyId", lazy: () => import("@/features/policies/policy-detail-page") },
              { path: "runbooks", lazy: () => import("@/features/runbooks/runbooks-page") },
              { path: "runbooks/:name", lazy: () => import("@/features/runbooks/runbook-page") },
              { path: "admin/tokens", lazy: () => import("@/features/tokens/tokens-page") },
              { path: "admin/users", lazy: () => import("@/features/users/users-page") },
              { path: "admin/users/:userId", lazy: () => import("@/features/users/user-detail-page") },
              { path: "admin/audit", lazy: () => import("@/features/audit/audit-page") },
              { path: "*", lazy: () => import("@/features/errors/not-found-page") },
            ],
          },
        ],
      },
    ],
  },
]);
