import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { GatewayKeyPublic } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { GatewayKeysPanel } from "./gateway-keys-panel";

const key: GatewayKeyPublic = {
  id: "gk1",
  name: "checkout",
  prefix: "mgw_ab12cd34",
  tenantId: "t1",
  project: "shop",
  env: "prod",
  rpm: 600,
  tpm: null,
  classes: ["chat"],
  createdBy: "admin",
  createdAt: "2025-06-01T10:00:00Z",
  expiresAt: null,
  revokedAt: null,
  revokedReason: null,
};
const SECRET = "mgw_ab12cd34_the-only-copy-of-it";

describe("GatewayKeysPanel", () => {
  it("creates a key scoped to a class with a quota, and shows its secret once", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/routing/keys", body: { items: [] } },
      { path: "/api/routing/classes", body: { items: [{ name: "chat", candidates: [], downgraded: false, downgradeReason: null, pin: null, createdBy: "a", updatedAt: "2025-06-01T10:00:00Z" }] } },
      { method: "POST", path: "/api/routing/keys", status: 201, body: { ...key, secret: SECRET } },
      { path: "/api/routing/gateway", body: { url: "http://gw.example:4000/", refreshSeconds: 1 } },
    ]);
    renderWithProviders(<GatewayKeysPanel />, { session: adminSession });
    expect(await screen.findByText("No gateway keys yet")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "New gateway key" }));
    const form = await screen.findByRole("dialog", { name: "New gateway key" });
    await user.type(within(form).getByLabelText("Name (required)"), "checkout");
    await user.type(within(form).getByLabelText("Project (optional)"), "shop");
    await user.type(within(form).getByLabelText("Environment (optional)"), "prod");
    await user.type(within(form).getByLabelText("Requests per minute (optional)"), "600");
    await user.click(await within(form).findByRole("checkbox", { name: "chat" }));
    await user.click(within(form).getByRole("button", { name: "Create key" }));

    const shown = await screen.findByRole("dialog", { name: "Gateway key “checkout” created" });
    expect(within(shown).getByLabelText("Secret")).toHaveValue(SECRET);
    expect(within(shown).getByRole("button", { name: "Copy secret" })).toBeInTheDocument();
    expect(shown).toHaveTextContent("This is the only time it is shown");
    // where clients send it, from GET /api/routing/gateway
    expect(await within(shown).findByTestId("gateway-base-urls")).toHaveTextContent(
      "OpenAI base_url:http://gw.example:4000/v1Copy the OpenAI base_urlAnthropic base_url:http://gw.example:4000Copy the Anthropic base_url",
    );
    expect(await calls.find((c) => c.method === "POST")!.json()).toEqual({
      name: "checkout",
      project: "shop",
      env: "prod",
      rpm: 600,
      tpm: null,
      classes: ["chat"],
      expiresInDays: 90,
    });
    await user.click(within(shown).getByRole("button", { name: "I have stored the secret" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("revokes a key with a reason", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/routing/keys", body: { items: [key] } },
      { method: "POST", path: "/api/routing/keys/gk1/revoke", body: { ...key, revokedAt: "2025-06-02T10:00:00Z", revokedReason: "leaked" } },
    ]);
    renderWithProviders(<GatewayKeysPanel />, { session: adminSession });
    const row = (await screen.findByText("checkout")).closest("tr")!;
    expect(row).toHaveTextContent("mgw_ab12cd34…");
    expect(row).toHaveTextContent("project shop, env prod");
    expect(row).toHaveTextContent("600 req/min");
    await user.click(within(row).getByRole("button", { name: "Revoke gateway key checkout" }));
    const dialog = await screen.findByRole("alertdialog");
    await user.click(within(dialog).getByRole("button", { name: "Revoke key" }));
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    await user.type(within(dialog).getByLabelText(/Reason/), "leaked");
    await user.click(within(dialog).getByRole("button", { name: "Revoke key" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(await calls.find((c) => c.method === "POST")!.json()).toEqual({ reason: "leaked" });
  });
});
