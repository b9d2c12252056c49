import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useLocation } from "react-router";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { RunbookPage } from "./runbook-page";
import { RunbooksPage } from "./runbooks-page";

const SLO_BURN = `# Runbook: SLO burn rate (\`SloBurnRate\`)

An SLO's error budget is being spent faster than it can last.

### What to check

1. Open the SLO in the UI or \`GET /api/slo\`.
2. By SLI:
   - **availability**: see [ready-degraded](ready-degraded.md).
   - Docs: [the API](../api.md) and [Temporal](https://docs.temporal.io/).

| check down | look at |
|---|---|
| \`redis\` | the log |

\`\`\`sh
maestro up
\`\`\`

<script>alert("x")</script><b>raw</b>
`;

function Where() {
  const l = useLocation();
  return <output data-testid="where">{`${l.pathname}${l.search}`}</output>;
}

function renderAt(route: string) {
  return renderWithProviders(
    <>
      <Routes>
        <Route path="/runbooks" element={<RunbooksPage />} />
        <Route path="/runbooks/:name" element={<RunbookPage />} />
      </Routes>
      <Where />
    </>,
    { route, session: adminSession },
  );
}

describe("RunbookPage", () => {
  it("renders the Markdown safely under the runbook's title, with in-app links between runbooks", async () => {
    mockApi([
      { path: "/api/runbooks/slo-burn", body: { name: "slo-burn", title: "SLO burn rate (`SloBurnRate`)", markdown: SLO_BURN } },
      {
        path: "/api/runbooks/ready-degraded",
        body: { name: "ready-degraded", title: "`/api/ready` is degraded (503)", markdown: "# Runbook: `/api/ready` is degraded (503)\n\nLook at the checks." },
      },
    ]);
    renderAt("/runbooks/slo-burn?env=dev");
    const h1 = await screen.findByRole("heading", { level: 1, name: "SLO burn rate (`SloBurnRate`)" });
    expect(h1).toHaveTextContent("SLO burn rate (`SloBurnRate`)");
    expect(screen.getAllByRole("heading", { level: 1 })).toHaveLength(1);
    // The Markdown's own title is not repeated; `###` right under the title becomes an h2.
    expect(screen.getByRole("heading", { level: 2, name: "What to check" })).toHaveAttribute("id", "what-to-check");

    const body = screen.getByTestId("runbook-body");
    expect(within(body).getByText("availability").tagName).toBe("STRONG");
    expect(within(body).getByText("GET /api/slo").tagName).toBe("CODE");
    expect(within(body).getByText("maestro up").closest("pre")).not.toBeNull();
    expect(within(body).getByRole("columnheader", { name: "check down" })).toBeInTheDocument();
    expect(within(body).getByRole("cell", { name: "redis" })).toBeInTheDocument();
    // No raw HTML: neither element exists.
    expect(body.querySelector("script, b")).toBeNull();

    const external = within(body).getByRole("link", { name: /Temporal/ });
    expect(external).toHaveAttribute("href", "https://docs.temporal.io/");
    expect(external).toHaveAttribute("target", "_blank");
    expect(external).toHaveAccessibleName("Temporal (opens in a new tab)");
    // A repository document with no page here is text, not a dead link.
    expect(within(body).queryByRole("link", { name: "the API" })).toBeNull();
    expect(within(body).getByText("the API")).toBeInTheDocument();

    const sibling = within(body).getByRole("link", { name: "ready-degraded" });
    expect(sibling).toHaveAttribute("href", "/runbooks/ready-degraded?env=dev");
    await userEvent.click(sibling);
    expect(await screen.findByRole("heading", { level: 1, name: "`/api/ready` is degraded (503)" })).toBeInTheDocument();
    expect(screen.getByTestId("where")).toHaveTextContent("/runbooks/ready-degraded?env=dev");
  });

  it("says clearly when there is no such runbook and links to the index", async () => {
    mockApi([
      { path: "/api/runbooks/nope", status: 404, body: { title: "Not Found", status: 404, detail: "No runbook 'nope'." } },
      { path: "/api/runbooks", body: { items: [{ name: "slo-burn", title: "SLO burn rate (`SloBurnRate`)" }] } },
    ]);
    renderAt("/runbooks/nope");
    expect(await screen.findByRole("heading", { level: 1, name: "Runbook not found" })).toBeInTheDocument();
    expect(screen.getByText("There is no runbook named “nope”")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("link", { name: "See all runbooks" }));
    const list = await screen.findByRole("list", { name: "Runbooks" });
    expect(within(list).getByRole("link", { name: /SLO burn rate/ })).toHaveAttribute("href", "/runbooks/slo-burn");
  });

  it("shows other failures with a retry", async () => {
    mockApi([{ path: "/api/runbooks/slo-burn", status: 403, body: { title: "Forbidden", status: 403, detail: "Not allowed." } }]);
    renderAt("/runbooks/slo-burn");
    expect(await screen.findByText("Could not load the runbook")).toBeInTheDocument();
    expect(screen.getByText("Not allowed.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
