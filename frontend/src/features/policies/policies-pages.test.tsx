import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import type { DecisionPublic, PolicyDetail } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { DecisionsPage } from "./decisions-page";
import { PoliciesPage } from "./policies-page";
import { PolicyDetailPage } from "./policy-detail-page";
import { EXAMPLE_POLICY } from "./policy-model";

const SOURCE = 'package maestro.promote.signed\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome a in input.artifacts\n\tnot a.signed\n\tmsg := sprintf("unsigned artifact %s", [a.path])\n}\n';

function decision(over: Partial<DecisionPublic>): DecisionPublic {
  return {
    id: "d1",
    batchId: "batch0001aaaa",
    point: "promote",
    subject: "run r1 to prod",
    policyId: "pol1",
    policyName: "require-signatures",
    revision: 2,
    sourceSha256: "11",
    inputSha256: "feedfacecafebeef0011",
    allowed: false,
    reasons: ["unsigned artifact dist/app.tar"],
    warnings: [],
    error: "",
    durationMs: 2,
    actor: "run",
    createdAt: "2025-06-01T10:04:00Z",
    ...over,
  };
}

const policy: PolicyDetail = {
  id: "pol1",
  name: "require-signatures",
  description: "Every promoted artifact is signed.",
  points: ["promote"],
  enabled: true,
  revision: 2,
  builtin: false,
  updatedAt: "2025-06-01T09:00:00Z",
  source: SOURCE,
  sha256: "c0ffee00c0ffee00c0ffee00",
  package: "maestro.promote.signed",
  revisions: [
    { revision: 2, sha256: "c0ffee00c0ffee00c0ffee00", package: "maestro.promote.signed", createdBy: "sec", createdAt: "2025-06-01T09:00:00Z" },
    { revision: 1, sha256: "0ld0ld0ld0ld", package: "maestro.promote.signed", createdBy: "sec", createdAt: "2025-05-01T09:00:00Z" },
  ],
  recentDecisions: [decision({})],
};

function renderDetail(route = "/policies/pol1") {
  return renderWithProviders(
    <Routes>
      <Route path="/policies/:policyId" element={<PolicyDetailPage />} />
    </Routes>,
    { route, session: adminSession },
  );
}

describe("PolicyDetailPage", () => {
  it("shows the source with line numbers, the package, revisions and recent decisions", async () => {
    mockApi([{ path: "/api/policies/pol1", body: policy }]);
    renderDetail();
    expect(await screen.findByRole("heading", { level: 1, name: "require-signatures" })).toBeInTheDocument();
    expect(screen.getByTestId("policy-package")).toHaveTextContent("maestro.promote.signed");
    const source = screen.getByRole("region", { name: "Source of require-signatures, revision 2" });
    expect(source).toHaveTextContent("1package maestro.promote.signed");
    expect(source).toHaveTextContent("9}");
    expect(screen.getByRole("link", { name: /Revision 2/ })).toHaveAttribute("aria-current", "true");
    const decisions = screen.getByRole("table", { name: "Recent decisions of require-signatures" });
    expect(decisions).toHaveTextContent("unsigned artifact dist/app.tar");
    expect(decisions).toHaveTextContent("denied");
    expect(decisions).toHaveTextContent("feedfacecafe");
  });

  it("shows an earlier revision's source from ?revision=", async () => {
    mockApi([
      { path: "/api/policies/pol1", body: policy },
      {
        path: "/api/policies/pol1/revisions/1",
        body: { revision: 1, sha256: "0ld", package: "maestro.promote.signed", createdBy: "sec", createdAt: "2025-05-01T09:00:00Z", source: "package maestro.promote.signed\n\nimport rego.v1\n" },
      },
    ]);
    renderDetail("/policies/pol1?revision=1");
    const source = await screen.findByRole("region", { name: "Source of require-signatures, revision 1" });
    expect(source).toHaveTextContent("3import rego.v1");
    expect(screen.getByRole("link", { name: /Revision 1/ })).toHaveAttribute("aria-current", "true");
    expect(screen.getByRole("link", { name: "show the active revision" })).toBeInTheDocument();
  });

  it("puts compile errors with line and column next to the editor", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/policies/pol1", body: policy },
      {
        method: "PUT",
        path: "/api/policies/pol1",
        status: 422,
        body: {
          type: "about:blank",
          title: "Invalid request",
          status: 422,
          detail: "The policy does not compile: unexpected eof token",
          remediation: "Fix the source at the line and column named.",
          errors: [{ field: "source", message: "line 9, column 2: rego_parse_error: unexpected eof token" }],
        },
      },
    ]);
    renderDetail();
    const form = await screen.findByRole("form", { name: "Edit require-signatures" });
    const editor = within(form).getByLabelText("Source (Rego, rego.v1)");
    await user.clear(editor);
    await user.type(editor, "package x{enter}{enter}import rego.v1{enter}deny contains msg if {{");
    await user.click(within(form).getByRole("button", { name: "Save changes" }));

    const errors = await within(form).findByTestId("compile-errors");
    expect(errors).toHaveTextContent("line 9, column 2");
    expect(errors).toHaveTextContent("rego_parse_error: unexpected eof token");
    expect(editor).toHaveAttribute("aria-invalid", "true");
    expect(within(errors).getByRole("button", { name: "Go to line 9" })).toBeInTheDocument();
    const put = calls.find((r) => r.method === "PUT");
    expect(await put?.json()).toEqual({
      description: "Every promoted artifact is signed.",
      points: ["promote"],
      source: "package x\n\nimport rego.v1\ndeny contains msg if {",
    });
  });

  it("toggles enabled with a PUT", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/policies/pol1", body: policy },
      { method: "PUT", path: "/api/policies/pol1", body: { ...policy, enabled: false } },
    ]);
    renderDetail();
    const toggle = await screen.findByRole("switch", { name: "Enabled" });
    expect(toggle).toBeChecked();
    await user.click(toggle);
    await waitFor(() => expect(screen.getByRole("switch", { name: "Enabled" })).not.toBeChecked());
    const put = calls.find((r) => r.method === "PUT");
    expect(await put?.json()).toEqual({ enabled: false });
  });
});

describe("PoliciesPage", () => {
  it("lists policies and creates one from the prefilled example", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      {
        path: "/api/policies",
        body: {
          items: [
            { id: "pol1", name: "require-signatures", description: "Every promoted artifact is signed.", points: ["promote"], enabled: true, revision: 2, builtin: true, updatedAt: "2025-06-01T09:00:00Z" },
          ],
        },
      },
      { method: "POST", path: "/api/policies", status: 201, body: { ...policy, id: "pol2", name: "no-curl-pipe-sh", points: ["admission"], source: EXAMPLE_POLICY, revision: 1 } },
    ]);
    renderWithProviders(<PoliciesPage />, { route: "/policies", session: adminSession });

    const table = await screen.findByRole("table", { name: "Policies" });
    expect(await within(table).findByRole("link", { name: "require-signatures" })).toHaveAttribute("href", "/policies/pol1");
    expect(table).toHaveTextContent("builtin");
    expect(table).toHaveTextContent("Promote");
    expect(table).toHaveTextContent("r2");
    expect(screen.getByRole("link", { name: "Decision log" })).toHaveAttribute("href", "/policies/decisions");

    await user.click(screen.getByRole("button", { name: "Create policy" }));
    const dialog = await screen.findByRole("dialog", { name: "Create policy" });
    expect(within(dialog).getByLabelText("Source (Rego, rego.v1)")).toHaveValue(EXAMPLE_POLICY);
    expect(within(dialog).getByRole("checkbox", { name: /Admission/ })).toBeChecked();
    await user.type(within(dialog).getByLabelText("Name"), "no-curl-pipe-sh");
    await user.click(within(dialog).getByRole("button", { name: "Create policy" }));

    await waitFor(() => expect(calls.some((r) => r.method === "POST")).toBe(true));
    const post = calls.find((r) => r.method === "POST");
    expect(await post?.json()).toEqual({ name: "no-curl-pipe-sh", description: "", points: ["admission"], source: EXAMPLE_POLICY, enabled: true });
  });
});

describe("DecisionsPage", () => {
  it("filters by point and result from the URL and pages with Load more", async () => {
    const user = userEvent.setup();
    const { calls, fetchMock } = mockApi([]);
    fetchMock.mockImplementation(async (input: Request) => {
      calls.push(input.clone());
      const url = new URL(input.url);
      const second = url.searchParams.get("cursor") === "c2";
      const body = second
        ? { items: [decision({ id: "d2", subject: "older decision" })], nextCursor: null }
        : { items: [decision({ id: "d1" })], nextCursor: "c2" };
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    });
    renderWithProviders(<DecisionsPage />, { route: "/policies/decisions?point=promote&allowed=false", session: adminSession });

    const table = await screen.findByRole("table", { name: "Policy decisions, newest first" });
    expect(await within(table).findByText("run r1 to prod")).toBeInTheDocument();
    expect(screen.getByLabelText("Point")).toHaveValue("promote");
    expect(screen.getByLabelText("Result")).toHaveValue("false");
    const first = new URL(calls[0].url);
    expect(first.searchParams.get("point")).toBe("promote");
    expect(first.searchParams.get("allowed")).toBe("false");

    await user.click(screen.getByRole("button", { name: "Load more" }));
    expect(await screen.findByText("older decision")).toBeInTheDocument();
    expect(new URL(calls[calls.length - 1].url).searchParams.get("cursor")).toBe("c2");
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });
});
