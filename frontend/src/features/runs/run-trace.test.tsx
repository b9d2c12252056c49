import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockApi, renderWithProviders } from "@/test/utils";
import type { RunDetail } from "./queries";
import { RunTrace } from "./run-trace";

const run = { id: "r1", status: "succeeded" } as RunDetail;
const T0 = Date.parse("2025-06-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

function span(spanId: string, parentId: string | null, name: string, service: string, start: number, dur: number, extra = {}) {
  return {
    spanId,
    parentId,
    name,
    service,
    startTime: at(start),
    endTime: at(start + dur),
    durationMs: dur,
    status: "unset",
    attributes: {},
    ...extra,
  };
}

const TRACE = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spans: [
    span("a1", null, "HTTP POST", "maestro-api", 0, 40, { attributes: { "http.method": "POST", "http.status_code": 201 } }),
    span("w1", "a1", "StartWorkflow:RunWorkflow", "maestro-api", 10, 20),
    span("w2", "w1", "RunWorkflow:RunWorkflow", "maestro-worker", 30, 970),
    span("s1", "w2", "StartActivity:run_step", "maestro-worker", 50, 5),
    span("r1", "s1", "RunActivity:run_step", "maestro-runner", 60, 900, {
      status: "error",
      attributes: { "maestro.step": "test", retry: false },
    }),
  ],
};

describe("RunTrace", () => {
  it("shows the waterfall in tree order and expands a row's attributes", async () => {
    mockApi([{ path: "/api/runs/r1/trace", body: TRACE }]);
    renderWithProviders(<RunTrace run={run} />);
    const waterfall = await screen.findByRole("list", { name: `Spans of trace ${TRACE.traceId}` });
    expect(screen.getByTestId("trace-id")).toHaveTextContent(TRACE.traceId);
    expect(screen.getByRole("button", { name: "Copy the trace id" })).toBeInTheDocument();
    expect(screen.getByTestId("trace-status")).toHaveTextContent("5 spans · 3 services · 1.00 s · 1 error");

    const rows = within(waterfall).getAllByRole("button");
    expect(rows.map((b) => b.closest("li")?.dataset.spanId)).toEqual(["a1", "w1", "w2", "s1", "r1"]);
    expect(rows.map((b) => b.closest("li")?.dataset.depth)).toEqual(["0", "1", "2", "3", "4"]);
    const failed = screen.getByRole("button", { name: /^RunActivity:run_step maestro-runner error/ });
    expect(failed).toHaveAccessibleName("RunActivity:run_step maestro-runner error, starts at +60 ms, level 5, took 900 ms");
    expect(failed).toHaveAttribute("aria-expanded", "false");

    await userEvent.click(failed);
    expect(failed).toHaveAttribute("aria-expanded", "true");
    const details = document.getElementById(failed.getAttribute("aria-controls") ?? "");
    expect(details).toHaveTextContent("maestro.step");
    expect(details).toHaveTextContent("test");
    expect(details).toHaveTextContent("false");

    // Keyboard: Enter on the focused root row opens it too.
    rows[0].focus();
    await userEvent.keyboard("{Enter}");
    expect(rows[0]).toHaveAttribute("aria-expanded", "true");
    expect(screen.getAllByTestId("span-details")[0]).toHaveTextContent("http.status_code201");
    await userEvent.click(failed);
    expect(failed).toHaveAttribute("aria-expanded", "false");
  });

  it("says spans are kept for a limited time when there are none", async () => {
    mockApi([{ path: "/api/runs/r1/trace", body: { traceId: "", spans: [] } }]);
    renderWithProviders(<RunTrace run={run} />);
    expect(await screen.findByText("No spans for this run")).toBeInTheDocument();
    expect(screen.getByText(/kept for a limited time/)).toBeInTheDocument();
  });

  it("shows the problem when the run is unknown", async () => {
    mockApi([
      {
        path: "/api/runs/r1/trace",
        status: 404,
        body: { title: "Not found", status: 404, detail: "No run r1.", remediation: "Check the run id." },
      },
    ]);
    renderWithProviders(<RunTrace run={run} />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load the trace");
    expect(alert).toHaveTextContent("No run r1.");
  });
});
