import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { AliasesLimitsPanel } from "./aliases-limits-panel";

describe("AliasesLimitsPanel", () => {
  it("lists aliases, adds one for every tenant and deletes one", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/routing/aliases", body: { items: [{ tenant: "*", alias: "fast", target: "sim-small", createdBy: "ada" }] } },
      { path: "/api/routing/limits", body: { items: [] } },
      { method: "PUT", path: "/api/routing/aliases/smart", body: { tenant: "*", alias: "smart", target: "sim-large", createdBy: "admin" } },
      { method: "DELETE", path: "/api/routing/aliases/fast", status: 204 },
    ]);
    renderWithProviders(<AliasesLimitsPanel />, { session: adminSession });
    const table = await screen.findByRole("table", { name: "Model aliases" });
    expect(await within(table).findByText("sim-small")).toBeInTheDocument();
    expect(table).toHaveTextContent("every tenant");
    const form = screen.getByRole("form", { name: "Add or change an alias" });
    await user.type(within(form).getByLabelText("Alias"), "smart");
    await user.click(within(form).getByRole("button", { name: "Save alias" }));
    expect(form).toHaveTextContent("Name the model it stands for");
    await user.type(within(form).getByLabelText("Stands for (model)"), "sim-large");
    await user.click(within(form).getByLabelText("For every tenant"));
    await user.click(within(form).getByRole("button", { name: "Save alias" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
    expect(await calls.find((c) => c.method === "PUT")!.json()).toEqual({ target: "sim-large", allTenants: true });

    await user.click(within(table).getByRole("button", { name: "Delete alias fast" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Delete alias fast?" });
    await user.click(within(dialog).getByRole("button", { name: "Delete alias" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.url.endsWith("/api/routing/aliases/fast?all_tenants=true"))).toBe(true));
  });

  it("sets a tenant's token limit by its API name and shows the API's refusal on the field", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/routing/aliases", body: { items: [] } },
      { path: "/api/routing/limits", body: { items: [{ name: "model:sim-large:rpm", value: 600, createdBy: "ada" }] } },
      {
        method: "PUT",
        path: "/api/routing/limits/tenant%3Aacme%3Atpm" /* the client encodes the colons */,
        status: 422,
        body: { title: "Unprocessable", status: 422, errors: [{ field: "value", message: "must be at most 1000000000" }] },
      },
    ]);
    renderWithProviders(<AliasesLimitsPanel />, { session: adminSession });
    const table = await screen.findByRole("table", { name: "Rate limits" });
    expect(await within(table).findByText("model:sim-large:rpm")).toBeInTheDocument();
    expect(table).toHaveTextContent("600 requests");
    const form = screen.getByRole("form", { name: "Add or change a limit" });
    await user.type(within(form).getByLabelText("Tenant id"), "acme");
    await user.selectOptions(within(form).getByLabelText("Counting"), "tokens (tpm)");
    await user.type(within(form).getByLabelText("Per minute"), "50000");
    await user.click(within(form).getByRole("button", { name: "Save limit" }));
    expect(await within(form).findByText("must be at most 1000000000")).toBeInTheDocument();
    const put = calls.find((c) => c.method === "PUT")!;
    expect(await put.json()).toEqual({ value: 50000 });
  });
});
