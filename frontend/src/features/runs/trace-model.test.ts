import { barGeometry, buildTraceTree, flattenTree, formatSpanDuration, orphanCount, traceBounds, type SpanLike } from "./trace-model";

const T0 = Date.parse("2025-06-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

function span(spanId: string, parentId: string | null, startMs: number, durationMs: number, extra: Partial<SpanLike> = {}): SpanLike {
  return {
    spanId,
    parentId,
    name: spanId,
    service: "maestro-api",
    startTime: at(startMs),
    endTime: at(startMs + durationMs),
    durationMs,
    status: "ok",
    ...extra,
  };
}

const rows = (spans: SpanLike[]) => flattenTree(buildTraceTree(spans)).map((n) => `${"  ".repeat(n.depth)}${n.span.spanId}`);

describe("buildTraceTree", () => {
  it("nests workflow and activity spans under the API request, depth-first, children by start", () => {
    // As the API sends them: sorted by start, parents interleaved with other branches.
    const spans = [
      span("http", null, 0, 900),
      span("start-wf", "http", 5, 10),
      span("run-wf", "start-wf", 20, 800),
      span("start-build", "run-wf", 30, 2),
      span("start-test", "run-wf", 31, 2),
      span("run-test", "start-test", 40, 300),
      span("run-build", "start-build", 45, 200),
    ];
    expect(rows(spans)).toEqual([
      "http",
      "  start-wf",
      "    run-wf",
      "      start-build",
      "        run-build",
      "      start-test",
      "        run-test",
    ]);
  });

  it("sorts children by start whatever order they arrive in, the longer first on a tie", () => {
    const spans = [span("root", null, 0, 100), span("c", "root", 30, 5), span("a", "root", 10, 5), span("b-short", "root", 20, 1), span("b-long", "root", 20, 9)];
    expect(rows(spans)).toEqual(["root", "  a", "  b-long", "  b-short", "  c"]);
  });

  it("makes a span whose parent is not in the list a root, roots ordered by start", () => {
    // The API request's own parent (the caller's span, e.g. CI's) is not part of Maestro's trace.
    const spans = [span("late-orphan", "gone", 50, 5), span("http", "caller-span", 0, 100), span("child", "http", 10, 5)];
    const forest = buildTraceTree(spans);
    expect(forest.map((n) => n.span.spanId)).toEqual(["http", "late-orphan"]);
    expect(forest.every((n) => n.depth === 0)).toBe(true);
    expect(rows(spans)).toEqual(["http", "  child", "late-orphan"]);
  });

  it("counts the spans still waiting for their parent, not roots nor self-parents", () => {
    const spans = [span("http", null, 0, 100), span("wf", "http", 1, 90), span("step", "activity-not-yet-exported", 5, 5), span("self", "self", 0, 1)];
    expect(orphanCount(spans)).toBe(1);
    expect(orphanCount([...spans, span("activity-not-yet-exported", "wf", 4, 10)])).toBe(0);
  });

  it("keeps every span exactly once on bad data: self-parents, cycles, duplicate ids", () => {
    const spans = [
      span("self", "self", 0, 10),
      span("x", "y", 5, 10),
      span("y", "x", 6, 10),
      span("dup", null, 7, 1),
      span("dup", null, 8, 1),
    ];
    const out = rows(spans);
    expect(out).toEqual(["self", "dup", "x", "  y"]);
  });

  it("returns nothing for no spans", () => {
    expect(buildTraceTree([])).toEqual([]);
    expect(traceBounds([])).toBeNull();
  });
});

describe("trace geometry", () => {
  it("spans the earliest start to the latest end", () => {
    const b = traceBounds([span("a", null, 100, 50), span("b", "a", 120, 400), span("c", "a", 130, 10)]);
    expect(b).toEqual({ start: T0 + 100, end: T0 + 520, total: 420 });
  });

  it("places and sizes bars in percent of the trace", () => {
    const bounds = { start: T0, end: T0 + 1000, total: 1000 };
    expect(barGeometry(span("root", null, 0, 1000), bounds)).toEqual({ left: 0, width: 100, offsetMs: 0 });
    expect(barGeometry(span("mid", null, 250, 500), bounds)).toEqual({ left: 25, width: 50, offsetMs: 250 });
    expect(barGeometry(span("zero", null, 1000, 0), bounds)).toEqual({ left: 100, width: 0, offsetMs: 1000 });
  });

  it("never lets a bar leave the axis", () => {
    const bounds = { start: T0, end: T0 + 1000, total: 1000 };
    expect(barGeometry(span("overrun", null, 900, 500), bounds)).toEqual({ left: 90, width: 10, offsetMs: 900 });
    expect(barGeometry(span("early", null, -100, 200), bounds)).toEqual({ left: 0, width: 20, offsetMs: 0 });
  });

  it("falls back to start + duration when the end is unusable, and survives a zero-length trace", () => {
    const s = { ...span("a", null, 0, 200), endTime: "not a date" };
    const b = traceBounds([s]);
    expect(b).toEqual({ start: T0, end: T0 + 200, total: 200 });
    expect(barGeometry(s, b!)).toEqual({ left: 0, width: 100, offsetMs: 0 });
    const instant = traceBounds([span("i", null, 0, 0)]);
    expect(instant?.total).toBe(1);
    expect(barGeometry(span("i", null, 0, 0), instant!)).toEqual({ left: 0, width: 0, offsetMs: 0 });
  });

  it("formats sub-millisecond to minute durations", () => {
    expect(formatSpanDuration(0)).toBe("0 ms");
    expect(formatSpanDuration(0.123)).toBe("0.12 ms");
    expect(formatSpanDuration(4.56)).toBe("4.6 ms");
    expect(formatSpanDuration(321.4)).toBe("321 ms");
    expect(formatSpanDuration(1234)).toBe("1.23 s");
    expect(formatSpanDuration(75_000)).toBe("1 m 15 s");
    expect(formatSpanDuration(Number.NaN)).toBe("—");
  });
});
