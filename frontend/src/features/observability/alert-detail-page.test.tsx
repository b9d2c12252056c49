import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useLocation } from "react-router";
import type { AlertPublic } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { AlertDetailPage } from "./alert-detail-page";

const ALERT: AlertPublic = {
  id: "al1",
  fingerprint: "fp-1",
  name: "SloBurnRate",
  severity: "page",
  state: "firing",
  labels: { slo: "run-success", window: "1h/5m" },
  annotations: {
    summary: "Run success: error budget burning",
    runbook_url: "http://127.0.0.1:8000/runbooks/slo-burn",
    slo_url: "http://127.0.0.1:8000/observability?slo=run-success",
    dashboard_url: "https://grafana.example.com/d/maestro",
  },
  startsAt: "2025-06-01T10:00:00Z",
  endsAt: null,
  updatedAt: "2025-06-01T10:00:00Z",
  fireCount: 1,
  ackedBy: null,
  ackedAt: null,
  assignee: null,
  notifyStatus: "sent",
  pagerdutyAction: "",
  pagerdutyStatus: "",
};

function Where() {
  const l = useLocation();
  return <output data-testid="where">{`${l.pathname}${l.search}`}</output>;
}

function renderAlert(alert: AlertPublic) {
  mockApi([{ path: `/api/alerts/${alert.id}`, body: alert }]);
  return renderWithProviders(
    <>
      <Routes>
        <Route path="/observability/alerts/:alertId" element={<AlertDetailPage />} />
        <Route path="*" element={<p>elsewhere</p>} />
      </Routes>
      <Where />
    </>,
    { route: `/observability/alerts/${alert.id}?env=prod`, session: adminSession },
  );
}

describe("AlertDetailPage annotation links", () => {
  it("opens the runbook and the SLO in the app, keeping the environment, and keeps the copy buttons", async () => {
    renderAlert(ALERT);
    const runbook = await screen.findByRole("link", { name: "Open runbook" });
    expect(runbook).toHaveAttribute("href", "/runbooks/slo-burn?env=prod");
    expect(runbook).not.toHaveAttribute("target");
    expect(screen.getByRole("link", { name: "Open SLO" })).toHaveAttribute("href", "/observability?slo=run-success&env=prod");
    expect(screen.getByRole("button", { name: "Copy the runbook URL" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Copy the SLO URL" })).toBeInTheDocument();
    expect(screen.getByText("http://127.0.0.1:8000/runbooks/slo-burn")).toBeInTheDocument();
    // Link annotations are not listed twice; the others still are.
    expect(screen.getByText("dashboard_url")).toBeInTheDocument();
    expect(screen.queryByText("runbook_url")).toBeNull();

    await userEvent.click(runbook);
    expect(screen.getByTestId("where")).toHaveTextContent("/runbooks/slo-burn?env=prod");
  });

  it("keeps a runbook hosted elsewhere as an external link", async () => {
    renderAlert({ ...ALERT, annotations: { runbook_url: "https://wiki.example.com/oncall/slo" } });
    const runbook = await screen.findByRole("link", { name: /^Open runbook/ });
    expect(runbook).toHaveAttribute("href", "https://wiki.example.com/oncall/slo");
    expect(runbook).toHaveAttribute("target", "_blank");
    expect(runbook).toHaveAttribute("rel", "noopener noreferrer");
    expect(screen.queryByRole("link", { name: "Open SLO" })).toBeNull();
  });
});
