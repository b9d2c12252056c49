import { render, screen, within } from "@testing-library/react";
import { findAnchored, filterLines, findMatches, LogBuffer, lineAnchor, parseLineAnchor, stepMatch, visibleLines, type LogLine } from "./log-model";
import { LogViewer } from "./log-viewer";

const line = (step: string, n: number, text: string, attempt = 1, stream: LogLine["stream"] = "stdout"): LogLine => ({
  ts: `2025-06-01T10:00:${String(n).padStart(2, "0")}.000000+00:00`,
  step,
  stream,
  line: text,
  n,
  attempt,
});

const LINES = [
  line("build", 1, "compiling"),
  line("test", 1, "\u001b[32mok\u001b[0m 12 tests"),
  line("build", 2, "linking"),
  line("test", 2, "\u001b[31mFAIL\u001b[0m one"),
  line("build", 3, "done"),
];

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

function renderViewer(step: string | null, selected: string | null = null) {
  return render(
    <LogViewer lines={LINES} version={1} step={step} selected={selected} onSelect={() => {}} follow={false} label="Log of web #1" />,
  );
}

describe("LogViewer filtering", () => {
  it("shows every step's lines, with a step column, when unfiltered", () => {
    renderViewer(null);
    const viewer = screen.getByRole("region", { name: "Log of web #1" });
    expect(viewer).toHaveAttribute("data-line-count", "5");
    expect(within(viewer).getAllByRole("link")).toHaveLength(5);
    expect(viewer).toHaveTextContent("compiling");
    expect(viewer).toHaveTextContent("FAIL one");
  });

  it("shows only the chosen step's lines", () => {
    renderViewer("test");
    const viewer = screen.getByRole("region", { name: "Log of web #1" });
    expect(viewer).toHaveAttribute("data-line-count", "2");
    expect(within(viewer).getAllByRole("link").map((a) => a.getAttribute("aria-label"))).toEqual([
      "Line 1 of test",
      "Line 2 of test",
    ]);
    expect(viewer).not.toHaveTextContent("compiling");
  });

  it("renders ANSI colours as classes, never as markup, and links each line", () => {
    renderViewer("test", lineAnchor(LINES[3]));
    const fail = screen.getByText("FAIL");
    expect(fail).toHaveClass("ansi-fg-1");
    expect(fail.closest("[data-anchor]")).toHaveClass("log-line-selected");
    expect(screen.getByRole("link", { name: "Line 2 of test" })).toHaveAttribute("href", "#Ltest-2");
  });
});

describe("log model", () => {
  it("filters by step and finds permalinked lines, matrix keys and attempts included", () => {
    expect(filterLines(LINES, "build")).toEqual([0, 2, 4]);
    expect(filterLines(LINES, null)).toBeNull();
    const matrix = line("build[os=linux,py=3.12]", 7, "x", 2);
    const anchor = lineAnchor(matrix);
    expect(anchor).toBe("Lbuild%5Bos%3Dlinux%2Cpy%3D3.12%5D-7@2");
    expect(parseLineAnchor(`#${anchor}`)).toEqual({ step: "build[os=linux,py=3.12]", n: 7, attempt: 2 });
    expect(parseLineAnchor("#Lmy-step-12")).toEqual({ step: "my-step", n: 12, attempt: null });
    expect(findAnchored([...LINES, matrix], { step: "build", n: 2, attempt: null })).toBe(2);
  });

  it("drops lines it already holds and reports gaps in line numbers", () => {
    const buf = new LogBuffer();
    expect(buf.add([LINES[0], LINES[2]])).toBe(2);
    expect(buf.add([LINES[0], LINES[2], LINES[4], { nonsense: true }])).toBe(1);
    expect(buf.size).toBe(3);
    buf.add([line("test", 1, "a"), line("test", 4, "d")]);
    expect(buf.gaps()).toEqual([{ step: "test", attempt: 1, after: 1 }]);
    buf.add([line("test", 2, "b"), line("test", 3, "c")]);
    expect(buf.gaps()).toEqual([]);
  });

  it("keeps a re-executed step's lines, whose numbers start again at 1", () => {
    const buf = new LogBuffer();
    const first = [1, 2, 3].map((n) => ({ ...line("build", n, `first ${n}`), execution: 1 }));
    const again = [1, 2].map((n) => ({ ...line("build", n, `again ${n}`), execution: 2 }));
    expect(buf.add(first)).toBe(3);
    expect(buf.add(again)).toBe(2);
    expect(buf.lines.map((l) => l.line)).toEqual(["first 1", "first 2", "first 3", "again 1", "again 2"]);
    expect(buf.add(again)).toBe(0);
    expect(buf.gaps()).toEqual([]);
  });

  it("finds matches among the shown lines, ANSI codes ignored, and steps through them wrapping", () => {
    expect(findMatches(LINES, null, "FAIL ONE")).toEqual([3]);
    expect(findMatches(LINES, null, "n")).toEqual([0, 2, 3, 4]);
    expect(findMatches(LINES, visibleLines(LINES, "build", (l) => l.n > 1), "n")).toEqual([2, 4]);
    expect(findMatches(LINES, null, "")).toEqual([]);
    expect([stepMatch(3, -1, 1), stepMatch(3, -1, -1), stepMatch(3, 2, 1), stepMatch(3, 0, -1), stepMatch(0, -1, 1)]).toEqual([0, 2, 0, 2, -1]);
  });
});
