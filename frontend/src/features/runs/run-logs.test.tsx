import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { adminSession, renderWithProviders } from "@/test/utils";
import type { LogLine } from "./log-model";
import type { RunDetail } from "./queries";
import { RunLogs } from "./run-logs";

const RUN = {
  id: "r1",
  workflowId: "run-web-1",
  pipelineName: "web",
  number: 1,
  status: "failed",
  steps: [{ key: "api", name: "api", kind: "run", logLines: 7 }],
} as unknown as RunDetail;

const TEXTS: [LogLine["stream"], string][] = [
  ["stdout", "starting api"],
  ["stdout", "level=info status=200 path=/health msg=ok"],
  ["stderr", 'level=error status=500 path=/orders msg="upstream timeout"'],
  ["stdout", '{"level":"error","http":{"status":503,"path":"/pay"},"msg":"timeout talking to bank"}'],
  ["stdout", "level=warn status=429 msg=slow"],
  ["stderr", "Traceback: timeout"],
  ["stdout", "done"],
];
const LINES: LogLine[] = TEXTS.map(([stream, line], i) => ({
  ts: `2025-06-01T10:00:0${i}.000000+00:00`,
  step: "api",
  stream,
  line,
  n: i + 1,
  attempt: 1,
}));

beforeAll(() => {
  // jsdom has no layout: give elements a size so the virtualizer renders the rows in view.
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 480 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 800 });
  Element.prototype.scrollTo ??= function scrollTo() {};
});

afterAll(() => {
  delete (HTMLElement.prototype as unknown as Record<string, unknown>).clientHeight;
  delete (HTMLElement.prototype as unknown as Record<string, unknown>).clientWidth;
});

/** GET /api/runs/r1/logs as the API serves it: NDJSON, filtered by q. */
function serveLogs() {
  const requests: URL[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      requests.push(url);
      if (url.pathname !== "/api/runs/r1/logs") return new Response("{}", { status: 404 });
      const q = url.searchParams.get("q")?.toLowerCase();
      const body = LINES.filter((l) => !q || l.line.toLowerCase().includes(q))
        .map((l) => JSON.stringify(l) + "\n")
        .join("");
      return new Response(body, { headers: { "Content-Type": "application/x-ndjson" } });
    }),
  );
  return requests;
}

async function renderLogs(route = "/runs/r1?tab=logs", lines = 7) {
  const requests = serveLogs();
  renderWithProviders(<RunLogs run={RUN} />, { route, session: adminSession });
  const viewer = await screen.findByRole("region", { name: "Log of web #1" });
  await waitFor(() => expect(viewer).toHaveAttribute("data-line-count", String(lines)));
  return { viewer, requests };
}

const shownTexts = (viewer: HTMLElement) =>
  Array.from(viewer.querySelectorAll("[data-anchor]")).map((row) => row.getAttribute("data-anchor"));

describe("RunLogs stderr", () => {
  it("marks stderr lines with a word as well as a colour", async () => {
    const { viewer } = await renderLogs();
    const stderr = viewer.querySelectorAll('[data-stream="stderr"]');
    expect(stderr).toHaveLength(2);
    for (const row of stderr) {
      expect(row).toHaveClass("log-stream-stderr");
      expect(row).toHaveTextContent(/^\d+err/);
    }
    expect(within(viewer).getByRole("link", { name: "Line 3 of api, stderr" })).toBeInTheDocument();
    expect(viewer.querySelector('[data-anchor="Lapi-1"]')).not.toHaveTextContent("err");
  });
});

describe("RunLogs field filter", () => {
  it("keeps the key=value and JSON lines whose fields match, and says how many", async () => {
    const user = userEvent.setup();
    const { viewer } = await renderLogs();
    await user.type(screen.getByLabelText("Field filter"), "level=error");
    await user.click(screen.getByRole("button", { name: "Apply" }));
    await waitFor(() => expect(viewer).toHaveAttribute("data-line-count", "2"));
    expect(shownTexts(viewer)).toEqual(["Lapi-3", "Lapi-4"]); // a logfmt line and a JSON line
    expect(screen.getByTestId("log-status")).toHaveTextContent("2 of 7 lines with level=error");

    await user.clear(screen.getByLabelText("Field filter"));
    await user.type(screen.getByLabelText("Field filter"), "http.status=5*{Enter}");
    await waitFor(() => expect(shownTexts(viewer)).toEqual(["Lapi-4"])); // nested JSON keys joined with dots

    await user.clear(screen.getByLabelText("Field filter"));
    await user.type(screen.getByLabelText("Field filter"), "status=5* status!=500{Enter}");
    expect(await screen.findByText(/has fields matching/)).toHaveTextContent("status=5* status!=500");
    expect(screen.queryByRole("region", { name: "Log of web #1" })).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Clear the field filter" }));
    await waitFor(() => expect(screen.getByRole("region", { name: "Log of web #1" })).toHaveAttribute("data-line-count", "7"));
    expect(screen.getByLabelText("Field filter")).toHaveValue("");
  });

  it("shows the selected line's fields as chips that filter by them", async () => {
    const user = userEvent.setup();
    const { viewer } = await renderLogs();
    await user.click(within(viewer).getByRole("link", { name: "Line 4 of api" }));
    const fields = await screen.findByRole("region", { name: "Fields of line 4 of api" });
    expect(within(fields).getAllByRole("button").map((b) => b.textContent)).toEqual([
      "level=error",
      "http.status=503",
      "http.path=/pay",
      "msg=timeout talking to bank",
    ]);
    await user.click(within(fields).getByRole("button", { name: "Filter by level=error" }));
    await waitFor(() => expect(viewer).toHaveAttribute("data-line-count", "2"));
    expect(screen.getByLabelText("Field filter")).toHaveValue("level=error");
    await user.click(within(screen.getByRole("region", { name: "Fields of line 4 of api" })).getByRole("button", { name: /msg=timeout/ }));
    await waitFor(() => expect(shownTexts(viewer)).toEqual(["Lapi-4"]));
    expect(screen.getByLabelText("Field filter")).toHaveValue('level=error msg="timeout talking to bank"');
  });

  it("keeps a filter applied while a line it hides is selected", async () => {
    const user = userEvent.setup();
    const { viewer } = await renderLogs();
    await user.click(within(viewer).getByRole("link", { name: "Line 1 of api" }));
    await user.type(screen.getByLabelText("Field filter"), "level=error{Enter}");
    await waitFor(() => expect(viewer).toHaveAttribute("data-line-count", "2"));
    expect(screen.getByLabelText("Field filter")).toHaveValue("level=error");
  });

  it("clears the filter that hides a permalinked line", async () => {
    await renderLogs("/runs/r1?tab=logs&fields=status%3D429#Lapi-2");
    expect(screen.getByLabelText("Field filter")).toHaveValue("");
    expect(screen.getByRole("region", { name: "Log of web #1" }).querySelector('[data-anchor="Lapi-2"]')).toHaveClass("log-line-selected");
  });

  it("reads the filter from the URL and offers the keys it saw", async () => {
    const { viewer } = await renderLogs("/runs/r1?tab=logs&fields=status%3D429", 1);
    await waitFor(() => expect(shownTexts(viewer)).toEqual(["Lapi-5"]));
    expect(screen.getByLabelText("Field filter")).toHaveValue("status=429");
  });
});

describe("RunLogs find", () => {
  it("counts the matches and moves through them with Enter, Shift+Enter and the buttons, wrapping", async () => {
    const user = userEvent.setup();
    const { viewer } = await renderLogs();
    const find = screen.getByRole("searchbox", { name: "Find" });
    await user.type(find, "TIMEOUT");
    const count = screen.getByTestId("find-count");
    await waitFor(() => expect(count).toHaveTextContent("3 matches"));
    expect(viewer.querySelectorAll("mark")).toHaveLength(3);
    const current = () => viewer.querySelector('[aria-current="true"]')?.getAttribute("data-anchor");

    await user.keyboard("{Enter}");
    expect(count).toHaveTextContent("1 of 3");
    expect(current()).toBe("Lapi-3");
    await user.keyboard("{Enter}");
    expect(count).toHaveTextContent("2 of 3");
    expect(current()).toBe("Lapi-4");
    await user.keyboard("{Shift>}{Enter}{/Shift}");
    expect(count).toHaveTextContent("1 of 3");
    await user.keyboard("{Shift>}{Enter}{/Shift}");
    expect(count).toHaveTextContent("3 of 3"); // wraps to the last
    expect(current()).toBe("Lapi-6");
    await user.click(screen.getByRole("button", { name: "Next match (Enter)" }));
    expect(count).toHaveTextContent("1 of 3");
    await user.click(screen.getByRole("button", { name: "Previous match (Shift+Enter)" }));
    expect(count).toHaveTextContent("3 of 3");

    fireEvent.change(find, { target: { value: "no such text" } });
    await waitFor(() => expect(count).toHaveTextContent("No matches"));
    expect(screen.getByRole("button", { name: "Next match (Enter)" })).toBeDisabled();
  });

  it("finds only within the lines the field filter keeps, and can ask the server for matching lines only", async () => {
    const user = userEvent.setup();
    const { requests } = await renderLogs("/runs/r1?tab=logs&fields=level%3Derror", 2);
    await user.type(screen.getByRole("searchbox", { name: "Find" }), "timeout{Enter}");
    expect(screen.getByTestId("find-count")).toHaveTextContent("1 of 2");

    await user.click(screen.getByRole("button", { name: "Clear fields" }));
    await user.click(screen.getByRole("checkbox", { name: "Only matching lines" }));
    await waitFor(() => expect(requests.some((u) => u.searchParams.get("q") === "timeout")).toBe(true));
    const filtered = await screen.findByRole("region", { name: "Log of web #1" });
    await waitFor(() => expect(filtered).toHaveAttribute("data-line-count", "3"));
    expect(screen.getByTestId("log-status")).toHaveTextContent("3 lines containing “timeout”");
  });
});
