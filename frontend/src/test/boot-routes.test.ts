import routerSource from "@/app/router.tsx?raw";
import { lazyRoutes, pathPattern } from "../../build/routes";

/** The route a URL's path gets its code preloaded for (src/boot.js: the first matching pattern). */
function preloadedFor(path: string): string | undefined {
  return lazyRoutes(routerSource).find((r) => new RegExp(pathPattern(r.path)).test(path))?.module;
}

describe("the boot script's route table (build/boot.ts)", () => {
  it("knows every lazy page of the router but the shell and the not-found page", () => {
    const imports = [...routerSource.matchAll(/import\("@\/([^"]+)"\)/g)].map((m) => m[1]);
    const pages = imports.filter((m) => m !== "features/shell/app-shell" && m !== "features/errors/not-found-page");
    expect(lazyRoutes(routerSource).map((r) => r.module)).toEqual(pages);
    expect(lazyRoutes(routerSource).filter((r) => !r.inShell).map((r) => r.path)).toEqual(["/login"]);
  });

  it("matches a URL to its page as the router does (fixed segments before parameters)", () => {
    expect(preloadedFor("/")).toBe("features/home/home-page");
    expect(preloadedFor("/runs")).toBe("features/runs/runs-page");
    expect(preloadedFor("/runs/0195f3a2")).toBe("features/runs/run-detail-page");
    expect(preloadedFor("/pipelines/new")).toBe("features/pipelines/pipeline-new-page");
    expect(preloadedFor("/pipelines/p1/compare")).toBe("features/pipelines/compare-page");
    expect(preloadedFor("/policies/decisions")).toBe("features/policies/decisions-page");
    expect(preloadedFor("/observability/")).toBe("features/observability/slo-page");
    expect(preloadedFor("/login")).toBe("features/auth/login-page");
    expect(preloadedFor("/no/such/page")).toBeUndefined();
  });

  it("writes patterns that only match whole paths", () => {
    expect(pathPattern("/")).toBe("^/$");
    expect(pathPattern("/runs/:runId")).toBe("^/runs/[^/]+/?$");
    expect(new RegExp(pathPattern("/runs")).test("/runsx")).toBe(false);
  });
});
