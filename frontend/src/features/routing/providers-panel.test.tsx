import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { provider } from "./fixtures";
import { ProvidersPanel } from "./providers-panel";

const KEY = "sk-live-do-not-show-0123456789";

describe("ProvidersPanel", () => {
  it("creates a provider with a write-only key and never shows a stored one", async () => {
    const user = userEvent.setup();
    const routes = [
      { path: "/api/routing/providers", body: { items: [] as unknown[] } },
      { path: "/api/routing/kill-switches", body: { items: [] } },
      { method: "PUT", path: "/api/routing/providers/openai", body: provider("openai") },
    ];
    const { calls } = mockApi(routes);
    renderWithProviders(<ProvidersPanel />, { session: adminSession });
    await user.click((await screen.findAllByRole("button", { name: "New provider" }))[0]);
    const dialog = await screen.findByRole("dialog", { name: "New provider" });
    await user.type(within(dialog).getByLabelText("Name (required)"), "openai");
    await user.type(within(dialog).getByLabelText("Base URL (required)"), "ftp://nope");
    await user.click(within(dialog).getByRole("button", { name: "Create provider" }));
    expect(within(dialog).getByLabelText("Base URL (required)")).toHaveAttribute("aria-invalid", "true");
    await user.clear(within(dialog).getByLabelText("Base URL (required)"));
    await user.type(within(dialog).getByLabelText("Base URL (required)"), "https://api.openai.com/v1");
    const keyField = within(dialog).getByLabelText("API key (write-only)");
    expect(keyField).toHaveAttribute("type", "password");
    await user.type(keyField, KEY);
    await user.click(within(dialog).getByRole("button", { name: "Create provider" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const put = calls.find((c) => c.method === "PUT")!;
    expect(await put.json()).toEqual({ kind: "openai", baseUrl: "https://api.openai.com/v1", region: "", timeoutSeconds: 60, apiKey: KEY });
    expect(document.body.innerHTML).not.toContain(KEY);
  });

  it("edits a provider: the key field starts empty, says a key is set, and an empty field keeps it", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/routing/providers", body: { items: [provider("prov-a"), provider("prov-b", { keySet: false, keySealedWith: null })] } },
      { path: "/api/routing/kill-switches", body: { items: [{ id: "k1", scope: "provider", value: "prov-b", reason: "incident 7", createdBy: "ada", createdAt: "2025-06-01T10:00:00Z" }] } },
      { method: "PUT", path: "/api/routing/providers/prov-a", body: provider("prov-a", { region: "eu" }) },
    ]);
    renderWithProviders(<ProvidersPanel />, { session: adminSession });
    const table = await screen.findByRole("table", { name: "Model providers" });
    const a = (await within(table).findByText("prov-a")).closest("tr")!;
    const b = within(table).getByText("prov-b").closest("tr")!;
    expect(a).toHaveTextContent("Key set");
    expect(b).toHaveTextContent("No key");
    expect(b).toHaveTextContent("Switched off");
    expect(within(b).queryByRole("button", { name: "Switch off provider prov-b" })).not.toBeInTheDocument();

    await user.click(within(a).getByRole("button", { name: "Edit provider prov-a" }));
    const dialog = await screen.findByRole("dialog", { name: "Edit provider prov-a" });
    const keyField = within(dialog).getByLabelText("New API key (write-only)");
    expect(keyField).toHaveValue("");
    expect(dialog).toHaveTextContent("A key is stored");
    expect(dialog).toHaveTextContent("Leave this empty to keep it");
    expect(within(dialog).getByText("Key set")).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText("Region (optional)"), "eu");
    await user.click(within(dialog).getByRole("button", { name: "Save provider" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const body = await calls.find((c) => c.method === "PUT")!.json();
    expect(body).toEqual({ kind: "openai", baseUrl: "http://prov-a.test/v1", region: "eu", timeoutSeconds: 60 });
  });
});
