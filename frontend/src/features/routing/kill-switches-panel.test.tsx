import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { provider } from "./fixtures";
import { KillSwitchesPanel } from "./kill-switches-panel";

const kill = { id: "k1", scope: "model" as const, value: "prov-a/sim-large", reason: "bad answers", createdBy: "ada", createdAt: "2025-06-01T10:00:00Z" };

describe("KillSwitchesPanel", () => {
  it("switches a model off after a confirmation with a reason, and shows the API's refusal", async () => {
    const user = userEvent.setup();
    const routes = [
      { path: "/api/routing/kill-switches", body: { items: [] as unknown[] } },
      { path: "/api/routing/providers", body: { items: [provider("prov-a")] } },
      {
        method: "POST",
        path: "/api/routing/kill-switches",
        status: 409,
        body: { type: "about:blank", title: "Conflict", status: 409, detail: "model 'prov-a/sim-large' is already switched off (bad answers)." },
      },
    ];
    const { calls } = mockApi(routes);
    renderWithProviders(<KillSwitchesPanel />, { session: adminSession });
    expect(await screen.findByText("Nothing is switched off")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Switch off…" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Switch off traffic" });
    await user.selectOptions(within(dialog).getByLabelText("What"), "A model");
    await user.type(within(dialog).getByLabelText("Model"), "prov-a/sim-large");
    await user.type(within(dialog).getByLabelText(/Reason/), "bad answers");
    await user.click(within(dialog).getByRole("button", { name: "Switch off" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("is already switched off (bad answers)");
    expect(await calls.find((c) => c.method === "POST")!.json()).toEqual({ scope: "model", value: "prov-a/sim-large", reason: "bad answers" });
  });

  it("lists what is switched off and revives it", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/routing/kill-switches", body: { items: [kill] } },
      { method: "DELETE", path: "/api/routing/kill-switches/k1", status: 204 },
    ]);
    renderWithProviders(<KillSwitchesPanel />, { session: adminSession });
    const row = (await screen.findByText("prov-a/sim-large")).closest("tr")!;
    expect(row).toHaveTextContent("bad answers");
    expect(row).toHaveTextContent("ada");
    await user.click(within(row).getByRole("button", { name: "Revive model prov-a/sim-large" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Revive model prov-a/sim-large?" });
    await user.click(within(dialog).getByRole("button", { name: "Revive" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
  });
});
