import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useLocation } from "react-router";
import type { SearchHit } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { CommandPalette } from "./command-palette";
import { Omnibar } from "./omnibar";

const ALERT: SearchHit = {
  kind: "alert",
  id: "al1",
  title: "RunFailureSpike",
  subtitle: "firing · ticket · shopfront-build: 6 of 6 runs failed",
  href: "/observability/alerts/al1",
};
const ARTIFACT: SearchHit = {
  kind: "artifact",
  id: "ar1",
  title: "dist/shopfront-1.2.3.whl",
  subtitle: "sha256:a1b2c3d4e5f6 · shopfront-build #12 · step package · dev",
  href: "/runs/r12?tab=artifacts",
};
const PIPELINE: SearchHit = { kind: "pipeline", id: "p1", title: "shopfront-build", subtitle: "v3 · 12 runs", href: "/pipelines/p1" };
const AUDIT: SearchHit = { kind: "audit", id: "e1", title: "pipeline.create by admin", subtitle: "#4 · pipeline p1", href: "/admin/audit?seq=4" };

function Where() {
  const l = useLocation();
  return <output data-testid="where">{`${l.pathname}${l.search}`}</output>;
}

function searchApi(items: SearchHit[]) {
  return mockApi([
    { path: "/api/search", body: { items } },
    { path: "/api/environments", body: { items: [] } },
  ]);
}

const searched = (calls: Request[]) => calls.filter((c) => new URL(c.url).pathname === "/api/search").map((c) => new URL(c.url).searchParams.get("q"));

describe("Omnibar", () => {
  it("lists alerts and artifacts the search finds, named by kind, and opens the chosen one", async () => {
    const user = userEvent.setup();
    const { calls } = searchApi([ARTIFACT, ALERT, AUDIT]);
    renderWithProviders(
      <>
        <Omnibar />
        <Where />
      </>,
      { route: "/?env=dev", session: adminSession },
    );
    await user.type(screen.getByRole("combobox", { name: /Search Maestro/ }), "a1b2c3");
    const results = await screen.findByRole("group", { name: "Results" });
    const options = await within(results).findAllByRole("option");
    expect(options.map((o) => o.textContent)).toEqual([
      `${ARTIFACT.title}${ARTIFACT.subtitle}artifact`,
      `${ALERT.title}${ALERT.subtitle}alert`,
      `${AUDIT.title}${AUDIT.subtitle}audit event`,
    ]);
    expect(searched(calls)).toContain("a1b2c3");

    await user.keyboard("{ArrowDown}{Enter}"); // the alert
    expect(screen.getByTestId("where")).toHaveTextContent("/observability/alerts/al1?env=dev");

    await user.type(screen.getByRole("combobox", { name: /Search Maestro/ }), "a1b2c3");
    await within(await screen.findByRole("group", { name: "Results" })).findAllByRole("option");
    await user.keyboard("{Enter}"); // the artifact: its run's artifacts
    expect(screen.getByTestId("where")).toHaveTextContent("/runs/r12?tab=artifacts&env=dev");
  });
});

describe("Command palette", () => {
  function renderPalette(session = adminSession) {
    const onOpenChange = vi.fn();
    renderWithProviders(
      <>
        <CommandPalette open onOpenChange={onOpenChange} />
        <Where />
      </>,
      { route: "/", session },
    );
    return { onOpenChange, input: screen.getByRole("combobox") };
  }

  it("finds alerts and artifacts too", async () => {
    const user = userEvent.setup();
    searchApi([ALERT, ARTIFACT]);
    const { input } = renderPalette();
    await user.type(input, "shopfront");
    const group = await screen.findByRole("group", { name: "Search results" });
    await waitFor(() => expect(within(group).getAllByRole("option")).toHaveLength(2));
    expect(within(group).getByRole("option", { name: /RunFailureSpike/ })).toHaveTextContent("alert");
    expect(within(group).getByRole("option", { name: /dist\/shopfront-1\.2\.3\.whl/ })).toHaveTextContent("artifact");
  });

  it("starts a run: 'run <name>' offers Run pipeline X… which opens its start-run form", async () => {
    const user = userEvent.setup();
    const { calls } = searchApi([PIPELINE]);
    const { input, onOpenChange } = renderPalette();
    await user.type(input, "a pipeline");
    await user.click(await screen.findByRole("option", { name: "Run a pipeline…" }));
    expect(input).toHaveValue("run ");
    expect(screen.getByText("Type the name of the pipeline to run.")).toBeInTheDocument();
    await user.type(input, "shopfront");
    const run = await screen.findByRole("option", { name: /Run pipeline shopfront-build…/ });
    expect(searched(calls)).toContain("shopfront"); // the name, without "run"
    expect(screen.queryByRole("group", { name: "Search results" })).not.toBeInTheDocument();
    expect(run).toHaveAttribute("aria-selected", "true"); // first: Enter runs it
    await user.keyboard("{Enter}");
    expect(screen.getByTestId("where")).toHaveTextContent("/pipelines/p1?tab=run");
    expect(onOpenChange).toHaveBeenCalledWith(false);
  });

  it("offers Run pipeline X… beside a pipeline found by name", async () => {
    const user = userEvent.setup();
    searchApi([PIPELINE]);
    const { input } = renderPalette();
    await user.type(input, "shopfront");
    const group = await screen.findByRole("group", { name: "Run" });
    expect(within(group).getByRole("option")).toHaveTextContent("Run pipeline shopfront-build…");
    expect(screen.getByRole("group", { name: "Search results" })).toHaveTextContent("shopfront-build");
  });

  it("has no run commands without runs:write", async () => {
    const user = userEvent.setup();
    searchApi([PIPELINE]);
    const { input } = renderPalette({ ...adminSession, permissions: ["runs:read"] });
    await user.type(input, "shopfront");
    await screen.findByRole("option", { name: /shopfront-build/ });
    expect(screen.queryByRole("group", { name: "Run" })).not.toBeInTheDocument();
    await user.clear(input);
    await user.type(input, "run shopfront");
    expect(await screen.findByText("No pipeline you may run matches “shopfront”.")).toBeInTheDocument();
    expect(screen.queryByRole("option", { name: "Run a pipeline…" })).not.toBeInTheDocument();
  });
});
