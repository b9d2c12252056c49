import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ProviderPublic, ServicePublic } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders, type MockRoute } from "@/test/utils";
import { RegisterServiceDialog } from "./register-service-dialog";

const EDGE: ProviderPublic = {
  name: "edge",
  title: "Maestro edge router",
  description: "The built-in weighted reverse proxy (`maestro edge`).",
  measuresTraffic: true,
  configSchema: { additionalProperties: false, description: "No settings.", properties: {}, title: "EdgeConfig", type: "object" },
  docs: "docs/rollouts.md",
};

// As pydantic writes it for a settings model with aliases (titles made up from the names).
const HAPROXY: ProviderPublic = {
  name: "haproxy",
  title: "HAProxy",
  description: "Sets server weights through HAProxy's runtime API.",
  measuresTraffic: true,
  configSchema: {
    additionalProperties: false,
    properties: {
      runtimeApi: { description: "host:port of the runtime API socket (`stats socket … level admin`)", title: "Runtimeapi", type: "string" },
      backend: { title: "Backend", type: "string", description: "The backend of the service", examples: ["shop"] },
      weightScale: { default: 256, maximum: 256, minimum: 1, title: "Weightscale", type: "integer" },
      serverPrefix: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Serverprefix" },
      tls: { default: false, title: "Tls", type: "boolean", description: "Talk TLS to the runtime API" },
    },
    required: ["runtimeApi", "backend"],
    title: "HaproxyConfig",
    type: "object",
  },
  docs: "docs/rollouts.md",
};

const GATEWAY: ProviderPublic = {
  name: "gateway-api",
  title: "Kubernetes Gateway API",
  description: "Weights the backendRefs of an HTTPRoute.",
  measuresTraffic: false,
  configSchema: {
    properties: { namespace: { default: "default", title: "Namespace", type: "string" }, route: { title: "HTTPRoute name", type: "string" } },
    required: ["route"],
    type: "object",
  },
  docs: "docs/rollouts.md",
};

const created: ServicePublic = {
  id: "s1",
  name: "cart",
  env: "dev",
  stableUrl: "http://10.0.0.5:8080",
  sticky: null,
  provider: "haproxy",
  providerConfig: {},
  createdAt: "2025-06-01T10:00:00Z",
};

function renderDialog(routes: MockRoute[]) {
  const api = mockApi([{ path: "/api/environments", body: { items: [] } }, ...routes]);
  const onOpenChange = vi.fn();
  renderWithProviders(<RegisterServiceDialog open onOpenChange={onOpenChange} />, { session: adminSession });
  return { ...api, onOpenChange };
}

async function fillBasics(dialog: HTMLElement) {
  const user = userEvent.setup();
  await user.type(within(dialog).getByLabelText("Name (required)"), "cart");
  await user.type(within(dialog).getByLabelText("Stable URL (required)"), "http://10.0.0.5:8080");
  return user;
}

describe("RegisterServiceDialog: traffic provider", () => {
  it("starts on the edge router, then builds the chosen provider's settings from its schema", async () => {
    const { calls, onOpenChange } = renderDialog([
      { path: "/api/services/providers", body: { items: [EDGE, HAPROXY, GATEWAY] } },
      { method: "POST", path: "/api/services", status: 201, body: created },
    ]);
    const dialog = await screen.findByRole("dialog", { name: "Register service" });
    const user = await fillBasics(dialog);
    const select = within(dialog).getByLabelText("Traffic provider");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(3));
    expect(select).toHaveValue("edge");
    // the schema's Markdown code spans as code, not backticks
    expect(select).toHaveAccessibleDescription("The built-in weighted reverse proxy (maestro edge).");
    expect(dialog).not.toHaveTextContent("`");
    expect(within(dialog).getByText("maestro edge").tagName).toBe("CODE");
    expect(within(dialog).getByRole("group", { name: "Maestro edge router settings" })).toHaveTextContent("Maestro edge router needs no settings.");

    await user.selectOptions(select, "haproxy");
    expect(select).toHaveAccessibleDescription("Sets server weights through HAProxy's runtime API.");
    const settings = within(dialog).getByRole("group", { name: "HAProxy settings" });
    const runtime = within(settings).getByLabelText("Runtime API (required)");
    expect(runtime).toHaveAccessibleDescription("host:port of the runtime API socket (stats socket … level admin).");
    expect(within(settings).getByText("stats socket … level admin").tagName).toBe("CODE");
    expect(runtime).toHaveValue("");
    const backend = within(settings).getByLabelText("Backend (required)");
    expect(backend).toHaveValue("");
    // an example is a placeholder that does not pass for a value already filled in
    expect(backend).toHaveAttribute("placeholder", "e.g. shop");
    const scale = within(settings).getByLabelText("Weight scale");
    expect(scale).toHaveValue("256");
    expect(scale).toHaveAccessibleDescription("a whole number, 1–256.");
    expect(within(settings).getByLabelText("Server prefix")).toHaveValue("");
    const tls = within(settings).getByRole("checkbox", { name: "TLS" });
    expect(tls).not.toBeChecked();
    expect(tls).toHaveAccessibleDescription("Talk TLS to the runtime API");
    expect(within(dialog).queryByRole("note")).not.toBeInTheDocument();

    // checked here first: the required settings, a whole number within bounds; focus goes to the first problem
    await user.clear(scale);
    await user.type(scale, "2.5");
    await user.click(within(dialog).getByRole("button", { name: "Register service" }));
    expect(runtime).toHaveAttribute("aria-invalid", "true");
    // the field's label only: its description is not nested in the sentence
    expect(runtime).toHaveAccessibleDescription("Give the runtime API.");
    expect(runtime).toHaveFocus();
    expect(scale).toHaveAccessibleDescription("Write a whole number, e.g. 256.");
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    await user.type(runtime, "10.0.0.9:9999");
    await user.type(within(settings).getByLabelText("Backend (required)"), "cart_be");
    await user.clear(scale);
    await user.type(scale, "100");
    await user.click(tls);
    await user.click(within(dialog).getByRole("button", { name: "Register service" }));

    await waitFor(() => expect(onOpenChange).toHaveBeenCalledWith(false));
    const post = calls.find((c) => c.method === "POST")!;
    expect(await post.json()).toEqual({
      name: "cart",
      env: "dev",
      stableUrl: "http://10.0.0.5:8080",
      provider: "haproxy",
      providerConfig: { runtimeApi: "10.0.0.9:9999", backend: "cart_be", weightScale: 100, tls: true },
    });
  });

  it("says that a provider without traffic counters needs Prometheus analyses", async () => {
    renderDialog([{ path: "/api/services/providers", body: { items: [EDGE, HAPROXY, GATEWAY] } }]);
    const dialog = await screen.findByRole("dialog", { name: "Register service" });
    const select = within(dialog).getByLabelText("Traffic provider");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(3));
    await userEvent.setup().selectOptions(select, "gateway-api");
    expect(within(dialog).getByRole("note")).toHaveTextContent(
      "Kubernetes Gateway API does not count requests per version, so the built-in error_rate and latency analyses cannot judge its canaries: rollouts of this service need Prometheus analyses",
    );
    const settings = within(dialog).getByRole("group", { name: "Kubernetes Gateway API settings" });
    expect(within(settings).getByLabelText("Namespace")).toHaveValue("default");
    expect(within(settings).getByLabelText("HTTPRoute name (required)")).toBeInTheDocument();
  });

  it("shows the API's 422 on the setting or the provider it names", async () => {
    const { calls } = renderDialog([
      { path: "/api/services/providers", body: { items: [EDGE, HAPROXY] } },
      {
        method: "POST",
        path: "/api/services",
        status: 422,
        body: {
          type: "about:blank",
          title: "Unprocessable Entity",
          status: 422,
          detail: "The haproxy settings are not valid.",
          errors: [
            { field: "body.providerConfig.runtimeApi", message: "not reachable: connection refused" },
            { field: "body.providerConfig.extra", message: "Extra inputs are not permitted" },
          ],
          remediation: "Give the settings GET /api/services/providers describes for haproxy.",
        },
      },
    ]);
    const dialog = await screen.findByRole("dialog", { name: "Register service" });
    const user = await fillBasics(dialog);
    const select = within(dialog).getByLabelText("Traffic provider");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(2));
    await user.selectOptions(select, "haproxy");
    const settings = within(dialog).getByRole("group", { name: "HAProxy settings" });
    await user.type(within(settings).getByLabelText("Runtime API (required)"), "10.0.0.9:1");
    await user.type(within(settings).getByLabelText("Backend (required)"), "cart_be");
    await user.click(within(dialog).getByRole("button", { name: "Register service" }));

    const runtime = within(settings).getByLabelText("Runtime API (required)");
    await waitFor(() => expect(runtime).toHaveAccessibleDescription("not reachable: connection refused"));
    expect(runtime).toHaveAttribute("aria-invalid", "true");
    expect(runtime).toHaveFocus();
    expect(within(settings).getByTestId("provider-settings-error")).toHaveTextContent("extra: Extra inputs are not permitted");
    expect(within(dialog).queryByRole("alert")).not.toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(1);

    // another provider: its settings start without the errors of the one before
    await user.selectOptions(select, "edge");
    expect(within(dialog).queryByText("not reachable: connection refused")).not.toBeInTheDocument();
  });

  it("puts an unknown-provider 422 on the provider select", async () => {
    renderDialog([
      { path: "/api/services/providers", body: { items: [EDGE] } },
      {
        method: "POST",
        path: "/api/services",
        status: 422,
        body: {
          title: "Unprocessable Entity",
          status: 422,
          detail: "Unknown traffic provider 'edge'.",
          errors: [{ field: "provider", message: "one of haproxy" }],
        },
      },
    ]);
    const dialog = await screen.findByRole("dialog", { name: "Register service" });
    const user = await fillBasics(dialog);
    const select = within(dialog).getByLabelText("Traffic provider");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(1));
    await user.click(within(dialog).getByRole("button", { name: "Register service" }));
    await waitFor(() => expect(select).toHaveAccessibleDescription("one of haproxy"));
    expect(select).toHaveAttribute("aria-invalid", "true");
    expect(select).toHaveFocus();
  });

  it("says while the providers load, and offers a retry when they cannot be loaded", async () => {
    let answer: (r: Response) => void = () => undefined;
    const routes: MockRoute[] = [{ path: "/api/services/providers", status: 503, body: { title: "Service Unavailable", status: 503, detail: "database down" } }];
    const { fetchMock } = renderDialog(routes);
    const original = fetchMock.getMockImplementation()!;
    const dialog = await screen.findByRole("dialog", { name: "Register service" });
    const alert = await within(dialog).findByRole("alert");
    expect(alert).toHaveTextContent("Could not load the traffic providers");
    expect(alert).toHaveTextContent("database down");

    // the retry: held until answered, so the loading state shows
    fetchMock.mockImplementation(async (req: Request) =>
      new URL(req.url).pathname === "/api/services/providers" ? new Promise<Response>((resolve) => (answer = resolve)) : original(req),
    );
    await userEvent.setup().click(within(alert).getByRole("button", { name: "Try again" }));
    const select = await within(dialog).findByLabelText("Traffic provider");
    expect(select).toHaveAttribute("aria-busy", "true");
    expect(select).toHaveAccessibleDescription("Loading the traffic providers…");
    answer(new Response(JSON.stringify({ items: [EDGE, HAPROXY] }), { status: 200, headers: { "Content-Type": "application/json" } }));
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(2));
    expect(select).not.toHaveAttribute("aria-busy");
    expect(select).toHaveValue("edge");
  });

  it("marks every required field the same way, the basics as well as the provider's", async () => {
    renderDialog([{ path: "/api/services/providers", body: { items: [EDGE, HAPROXY] } }]);
    const dialog = await screen.findByRole("dialog", { name: "Register service" });
    expect(within(dialog).getByLabelText("Name (required)")).toBeRequired();
    expect(within(dialog).getByLabelText("Stable URL (required)")).toBeRequired();
    expect(within(dialog).getByLabelText("Sticky sessions (optional)")).not.toBeRequired();
    const select = within(dialog).getByLabelText("Traffic provider");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(2));
    await userEvent.setup().selectOptions(select, "haproxy");
    expect(within(dialog).getByLabelText("Runtime API (required)")).toBeRequired();
  });
});
