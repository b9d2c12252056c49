import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import type { AuthMeResponse } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders, type MockRoute } from "@/test/utils";
import { provider, routingClass } from "./fixtures";
import { RoutingPage } from "./routing-page";

const viewer: AuthMeResponse = { ...adminSession, permissions: ["routing:read"] };

function renderPage(session: AuthMeResponse = adminSession, route = "/routing") {
  return renderWithProviders(
    <Routes>
      <Route path="/routing" element={<RoutingPage />} />
      <Route path="/routing/classes/:name" element={<p>class page</p>} />
    </Routes>,
    { route, session },
  );
}

describe("RoutingPage", () => {
  it("starts empty by saying to create a provider first, and takes you there", async () => {
    const user = userEvent.setup();
    mockApi([
      { path: "/api/routing/classes", body: { items: [] } },
      { path: "/api/routing/providers", body: { items: [] } },
      { path: "/api/routing/kill-switches", body: { items: [] } },
    ]);
    renderPage();
    expect(await screen.findByText("No classes yet")).toBeInTheDocument();
    expect(screen.getByText(/Start with a provider: on the Providers tab, add a model provider's endpoint and its API key\. Then create a class/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Go to Providers" }));
    expect(screen.getByRole("tab", { name: "Providers" })).toHaveAttribute("aria-selected", "true");
    expect(await screen.findByText("No providers yet")).toBeInTheDocument();
  });

  it("lists classes with what they match, their candidates and pin/downgrade badges", async () => {
    mockApi([
      {
        path: "/api/routing/classes",
        body: {
          items: [
            routingClass({
              pin: {
                routeClass: "chat",
                provider: "prov-a",
                model: "sim-large",
                expiresAt: null,
                reason: "eval",
                createdBy: "admin",
                createdAt: "2025-06-01T10:00:00Z",
              },
              downgraded: true,
              downgradeReason: "budget",
            }),
            routingClass({ name: "embed", match: { models: [] }, candidates: [{ provider: "prov-a", model: "sim-embed" }], downgradeTo: null }),
          ],
        },
      },
      { path: "/api/routing/providers", body: { items: [provider("prov-a")] } },
    ]);
    renderPage(viewer);
    const table = await screen.findByRole("table", { name: "Routing classes in match order" });
    const chat = (await within(table).findByRole("link", { name: "chat" })).closest("tr")!;
    expect(chat).toHaveTextContent("fast");
    expect(chat).toHaveTextContent("Pinned to prov-a/sim-large");
    expect(chat).toHaveTextContent("Downgraded to prov-b/sim-small");
    expect(within(chat).getAllByRole("cell")[2]).toHaveTextContent(/^2$/);
    const embed = within(table).getByRole("link", { name: "embed" }).closest("tr")!;
    expect(embed).toHaveTextContent("any model");
    expect(embed).toHaveTextContent("by score");
    // a viewer changes nothing
    expect(screen.queryByRole("button", { name: "New class" })).not.toBeInTheDocument();
    expect(screen.queryByRole("tab", { name: "Gateway keys" })).not.toBeInTheDocument();
  });

  it("creates a class, showing the API's refusals on the fields they concern", async () => {
    const user = userEvent.setup();
    const saved = routingClass();
    const routes: MockRoute[] = [
      { path: "/api/routing/classes", body: { items: [] } },
      { path: "/api/routing/providers", body: { items: [provider("prov-a"), provider("prov-b")] } },
      {
        method: "PUT",
        path: "/api/routing/classes/chat",
        status: 422,
        body: {
          type: "about:blank",
          title: "Unprocessable Entity",
          status: 422,
          detail: "candidates[1].provider: no provider named 'prov-b'.",
          errors: [{ field: "candidates[1].provider", message: "unknown provider" }],
          remediation: "Create it first.",
        },
      },
    ];
    const { calls } = mockApi(routes);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "New class" }));
    const dialog = await screen.findByRole("dialog", { name: "New class" });

    // nothing is sent while the form is incomplete
    await user.click(within(dialog).getByRole("button", { name: "Create class" }));
    expect(within(dialog).getByLabelText("Name (required)")).toHaveAttribute("aria-invalid", "true");
    expect(calls.some((c) => c.method === "PUT")).toBe(false);

    await user.type(within(dialog).getByLabelText("Name (required)"), "chat");
    await user.type(within(dialog).getByLabelText("Models it matches"), "fast");
    const first = within(dialog).getAllByTestId("candidate-row")[0];
    expect(within(first).getByLabelText("Provider")).toHaveValue("prov-a");
    await user.type(within(first).getByLabelText("Model"), "sim-large");
    await user.clear(within(first).getByLabelText("Input price (USD per 1M tokens)"));
    await user.type(within(first).getByLabelText("Input price (USD per 1M tokens)"), "3");
    await user.clear(within(first).getByLabelText("Output price (USD per 1M tokens)"));
    await user.type(within(first).getByLabelText("Output price (USD per 1M tokens)"), "15");
    await user.click(within(dialog).getByRole("button", { name: "Add candidate" }));
    const second = within(dialog).getAllByTestId("candidate-row")[1];
    await user.selectOptions(within(second).getByLabelText("Provider"), "prov-b");
    await user.type(within(second).getByLabelText("Model"), "sim-small");
    await user.selectOptions(within(dialog).getByLabelText("Downgrade to (optional)"), "prov-b/sim-small");
    await user.click(within(dialog).getByRole("button", { name: "Create class" }));

    // the API's field error lands on the second candidate's provider, and focus goes there
    const refused = within(second).getByLabelText("Provider");
    await waitFor(() => expect(refused).toHaveAttribute("aria-invalid", "true"));
    expect(second).toHaveTextContent("unknown provider");
    expect(refused).toHaveFocus();
    const put = calls.find((c) => c.method === "PUT")!;
    expect(put.headers.get("X-CSRF-Token")).toBe("csrf-123");
    expect(await put.json()).toEqual({
      description: "",
      priority: 100,
      match: { models: ["fast"] },
      candidates: [
        { provider: "prov-a", model: "sim-large", price: { input: 3, output: 15 } },
        { provider: "prov-b", model: "sim-small", price: { input: 0, output: 0 } },
      ],
      weights: { latency: 1, cost: 1, reliability: 2, policy: 1 },
      downgradeTo: "prov-b/sim-small",
    });

    // once the API takes it, the class's page opens
    routes[2] = { method: "PUT", path: "/api/routing/classes/chat", status: 200, body: saved };
    await user.click(within(dialog).getByRole("button", { name: "Create class" }));
    expect(await screen.findByText("class page")).toBeInTheDocument();
  });
});
