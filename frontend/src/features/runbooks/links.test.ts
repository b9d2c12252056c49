import { annotationLinkTarget, runbookLinkTarget } from "./links";

describe("runbookLinkTarget", () => {
  it("opens sibling runbooks in the app", () => {
    expect(runbookLinkTarget("ready-degraded.md")).toEqual({ kind: "app", to: "/runbooks/ready-degraded" });
    expect(runbookLinkTarget("./slo-burn.md")).toEqual({ kind: "app", to: "/runbooks/slo-burn" });
    expect(runbookLinkTarget("slo-burn.md#steps")).toEqual({ kind: "app", to: "/runbooks/slo-burn#steps" });
    expect(runbookLinkTarget("../runbooks/queue-saturation.md")).toEqual({ kind: "app", to: "/runbooks/queue-saturation" });
    expect(runbookLinkTarget("/runbooks/stack-start")).toEqual({ kind: "app", to: "/runbooks/stack-start" });
  });

  it("keeps web links external and in-page anchors as they are", () => {
    expect(runbookLinkTarget("https://temporal.io/docs")).toEqual({ kind: "external", href: "https://temporal.io/docs" });
    expect(runbookLinkTarget("#what-to-check")).toEqual({ kind: "external", href: "#what-to-check" });
  });

  it("does not invent a page for documents outside the runbooks", () => {
    expect(runbookLinkTarget("../api.md")).toEqual({ kind: "text" });
    expect(runbookLinkTarget("/api/ready")).toEqual({ kind: "text" });
    expect(runbookLinkTarget("javascript:alert(1)")).toEqual({ kind: "text" });
    expect(runbookLinkTarget("")).toEqual({ kind: "text" });
  });
});

describe("annotationLinkTarget", () => {
  it("routes the app's own URLs in the app, whatever host the API named", () => {
    expect(annotationLinkTarget("http://127.0.0.1:8000/runbooks/slo-burn")).toEqual({ kind: "app", to: "/runbooks/slo-burn" });
    expect(annotationLinkTarget("https://maestro.example.com/observability?slo=run-success")).toEqual({
      kind: "app",
      to: "/observability?slo=run-success",
    });
    expect(annotationLinkTarget("http://host/observability/alerts#x")).toEqual({ kind: "app", to: "/observability/alerts#x" });
    expect(annotationLinkTarget("/observability?slo=abc")).toEqual({ kind: "app", to: "/observability?slo=abc" });
  });

  it("opens older repository paths of runbooks in the app", () => {
    expect(annotationLinkTarget("docs/runbooks/slo-burn.md")).toEqual({ kind: "app", to: "/runbooks/slo-burn" });
  });

  it("leaves other URLs external and the rest as text", () => {
    expect(annotationLinkTarget("https://wiki.example.com/runbooks-old/slo")).toEqual({
      kind: "external",
      href: "https://wiki.example.com/runbooks-old/slo",
    });
    expect(annotationLinkTarget("https://wiki.example.com/observability-team")).toEqual({
      kind: "external",
      href: "https://wiki.example.com/observability-team",
    });
    expect(annotationLinkTarget("javascript:alert(1)")).toEqual({ kind: "text" });
    expect(annotationLinkTarget("see the wiki")).toEqual({ kind: "text" });
    expect(annotationLinkTarget("//evil.example/runbooks/x")).toEqual({ kind: "text" });
  });
});
