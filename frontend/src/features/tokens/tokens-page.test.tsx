import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { TokensPage } from "./tokens-page";

const token = {
  id: "tok_1",
  name: "ci-deploy",
  prefix: "mst_ab12",
  scopes: ["runs:read"],
  ownerId: "u-admin",
  ownerUsername: "admin",
  createdAt: "2025-06-01T10:00:00Z",
  expiresAt: null,
  lastUsedAt: null,
  revokedAt: null,
  revokedReason: null,
  parentId: null,
  parentPrefix: null,
};
const SECRET = "mst_ab12_Zx9cQ-this-is-the-only-copy";

describe("TokensPage", () => {
  it("creates a token, shows its secret once with a copy button, and sends the CSRF token", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/tokens", body: { items: [], nextCursor: null } },
      { path: "/api/permissions", body: { items: [{ name: "runs:read", description: "See pipelines, runs, steps and logs" }] } },
      { method: "POST", path: "/api/tokens", status: 201, body: { token, secret: SECRET } },
    ]);
    renderWithProviders(<TokensPage />, { route: "/admin/tokens", session: adminSession });

    expect(await screen.findByText("No API tokens yet")).toBeInTheDocument();
    await user.click(screen.getAllByRole("button", { name: "Create token" })[0]);

    const form = await screen.findByRole("dialog", { name: "Create an API token" });
    await user.type(within(form).getByLabelText("Name"), "ci-deploy");
    await user.click(await within(form).findByRole("checkbox", { name: "runs:read" }));
    await user.click(within(form).getByRole("button", { name: "Create token" }));

    const shown = await screen.findByRole("dialog", { name: "Token “ci-deploy” created" });
    expect(within(shown).getByLabelText("Secret")).toHaveValue(SECRET);
    expect(within(shown).getByRole("button", { name: "Copy secret" })).toBeInTheDocument();
    expect(shown).toHaveTextContent("This is the only time it is shown");

    const post = calls.find((r) => r.method === "POST");
    expect(post?.headers.get("X-CSRF-Token")).toBe("csrf-123");
    expect(await post?.json()).toEqual({ name: "ci-deploy", scopes: ["runs:read"], expiresInDays: 90 });

    await user.click(within(shown).getByRole("button", { name: "I have stored the secret" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    // Gone for good: nothing on the page holds the secret any more.
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("shows which token minted a token, and which came from a login", async () => {
    const child = { ...token, id: "tok_2", name: "ci-child", prefix: "mst_cd34", parentId: "tok_1", parentPrefix: "mst_ab12" };
    mockApi([
      { path: "/api/tokens", body: { items: [child, token], nextCursor: null } },
      { path: "/api/permissions", body: { items: [] } },
    ]);
    renderWithProviders(<TokensPage />, { route: "/admin/tokens", session: adminSession });
    const childRow = (await screen.findByText("ci-child")).closest("tr")!;
    expect(childRow).toHaveTextContent("token mst_ab12");
    expect(screen.getByText("ci-deploy").closest("tr")!).toHaveTextContent("a login");
  });

  it("asks for a reason before revoking and sends it", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/tokens", body: { items: [token], nextCursor: null } },
      { path: "/api/permissions", body: { items: [] } },
      { method: "POST", path: "/api/tokens/tok_1/revoke", body: { ...token, revokedAt: "2025-06-02T10:00:00Z" } },
    ]);
    renderWithProviders(<TokensPage />, { route: "/admin/tokens", session: adminSession });

    await user.click(await screen.findByRole("button", { name: "Revoke token ci-deploy" }));
    const dialog = await screen.findByRole("alertdialog");
    await user.click(within(dialog).getByRole("button", { name: "Revoke token" }));
    expect(calls.some((r) => r.method === "POST")).toBe(false);

    await user.type(within(dialog).getByLabelText(/Reason/), "rotated");
    await user.click(within(dialog).getByRole("button", { name: "Revoke token" }));
    const revoke = calls.find((r) => r.method === "POST");
    expect(revoke?.url).toBe("http://maestro.test/api/tokens/tok_1/revoke");
    expect(await revoke?.json()).toEqual({ reason: "rotated" });
  });

  it("shows the API's problem detail and remediation when the list fails", async () => {
    mockApi([
      {
        path: "/api/tokens",
        status: 403,
        body: {
          type: "about:blank",
          title: "Forbidden",
          status: 403,
          detail: "You lack the permission 'tokens:self' here.",
          traceId: "t-1",
          remediation: "Ask an admin to bind you a role that grants tokens:self.",
        },
      },
      { path: "/api/permissions", body: { items: [] } },
    ]);
    renderWithProviders(<TokensPage />, { route: "/admin/tokens", session: adminSession });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load API tokens");
    expect(alert).toHaveTextContent("You lack the permission 'tokens:self' here.");
    expect(alert).toHaveTextContent("Ask an admin to bind you a role that grants tokens:self.");
  });
});
