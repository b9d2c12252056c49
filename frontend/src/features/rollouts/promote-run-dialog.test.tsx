import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useParams } from "react-router";
import type { AuthMeResponse, RunStatus, ServicePublic } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders, type MockRoute } from "@/test/utils";
import { PromoteRunButton } from "./promote-run-dialog";

const run = { id: "run1", status: "succeeded" as RunStatus, pipelineName: "web", number: 7 };
const checkout: ServicePublic = {
  id: "s1",
  name: "checkout",
  env: "prod",
  stableUrl: "http://stable:8080",
  sticky: null,
  provider: "edge",
  providerConfig: {},
  canaryUrl: null,
  weight: 0,
  rolloutId: null,
  createdAt: "2025-05-01T10:00:00Z",
};

function DetailStub() {
  const { rolloutId } = useParams();
  return <p>rollout page {rolloutId}</p>;
}

function renderButton(r: typeof run = run, session: AuthMeResponse = adminSession) {
  return renderWithProviders(
    <Routes>
      <Route path="/runs/:runId" element={<PromoteRunButton run={r} />} />
      <Route path="/rollouts/:rolloutId" element={<DetailStub />} />
    </Routes>,
    { route: "/runs/run1", session },
  );
}

async function fillAndSubmit(routes: MockRoute[]) {
  const user = userEvent.setup();
  const api = mockApi([{ path: "/api/services", body: { items: [checkout] } }, ...routes]);
  renderButton();
  await user.click(screen.getByRole("button", { name: "Promote…" }));
  const dialog = await screen.findByRole("dialog", { name: "Promote web #7" });
  const select = within(dialog).getByLabelText("Service");
  await waitFor(() => expect(select).toBeEnabled());
  await user.selectOptions(select, "checkout");
  await user.type(within(dialog).getByLabelText("Canary URL"), "http://10.0.0.6:8080");
  await user.type(within(dialog).getByLabelText("Reason (required)"), "release 7");
  await user.click(within(dialog).getByRole("button", { name: "Promote" }));
  return { dialog, ...api };
}

describe("PromoteRunButton", () => {
  it("is offered only for succeeded runs, to holders of rollouts:promote", () => {
    mockApi([]);
    const failed = renderButton({ ...run, status: "failed" });
    expect(screen.queryByRole("button", { name: "Promote…" })).not.toBeInTheDocument();
    failed.unmount();
    const viewer = renderButton(run, { ...adminSession, permissions: ["runs:read", "runs:write", "rollouts:read"] });
    expect(screen.queryByRole("button", { name: "Promote…" })).not.toBeInTheDocument();
    viewer.unmount();
    renderButton(run, { ...adminSession, permissions: ["runs:write", "rollouts:promote"] });
    expect(screen.getByRole("button", { name: "Promote…" })).toBeInTheDocument();
  });

  it("promotes the run and opens the new rollout", async () => {
    const { calls } = await fillAndSubmit([
      { method: "POST", path: "/api/runs/run1/actions", body: { action: "promote", status: "started", detail: "ro-123", run: {} } },
    ]);
    expect(await screen.findByText("rollout page ro-123")).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST")!;
    expect(await post.json()).toEqual({ action: "promote", service: "checkout", canaryUrl: "http://10.0.0.6:8080", reason: "release 7" });
  });

  it("lists every reason the promote policies gave (403), with the decision", async () => {
    const { dialog } = await fillAndSubmit([
      {
        method: "POST",
        path: "/api/runs/run1/actions",
        status: 403,
        body: {
          type: "policy-denied",
          title: "Denied by policy",
          status: 403,
          detail: "Denied by policy: unsigned artifact dist/app.tar (and 1 more)",
          errors: [
            { field: "body", message: "unsigned artifact dist/app.tar" },
            { field: "body", message: "no SBOM" },
          ],
          remediation: "Fix what the policies name, or ask a policy owner. Decision log: GET /api/policies/decisions?batch=batch42",
        },
      },
    ]);
    const denial = await within(dialog).findByTestId("policy-denial");
    const reasons = within(denial).getByRole("list", { name: "Policy reasons" });
    expect(within(reasons).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["unsigned artifact dist/app.tar", "no SBOM"]);
    expect(within(denial).getByRole("link", { name: "Open the decision in the decision log" })).toHaveAttribute(
      "href",
      "/policies/decisions?batch=batch42",
    );
    expect(screen.getByRole("dialog")).toBeInTheDocument();
  });

  it("shows a 409 (the service already has an active rollout) in the dialog", async () => {
    const { dialog } = await fillAndSubmit([
      {
        method: "POST",
        path: "/api/runs/run1/actions",
        status: 409,
        body: { title: "Conflict", status: 409, detail: "Rollout ro-1 of checkout is still running.", remediation: "Finish or abort it first." },
      },
    ]);
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("Rollout ro-1 of checkout is still running.");
  });

  it("puts an unknown service (422) next to the service field", async () => {
    const { dialog } = await fillAndSubmit([
      {
        method: "POST",
        path: "/api/runs/run1/actions",
        status: 422,
        body: {
          title: "Invalid request",
          status: 422,
          detail: "No service 'checkout'.",
          errors: [{ field: "service", message: "unknown service" }],
          remediation: "Register it with POST /api/services.",
        },
      },
    ]);
    expect(await within(dialog).findByText("unknown service")).toBeInTheDocument();
    expect(within(dialog).getByLabelText("Service")).toHaveAttribute("aria-invalid", "true");
    expect(within(dialog).getByRole("alert")).toHaveTextContent("No service 'checkout'.");
  });
});
