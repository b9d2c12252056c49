import type { RolloutStatus } from "@/client/types.gen";
import { alertsLevel, budgetLevel, frozenBudgetsHere, newestActiveRollout, worstLevel, worstSlo } from "./ribbon-model";

const burn = (firing: boolean, severity = "ticket") => ({ long: "1h", short: "5m", threshold: 14.4, severity, firing });
const slo = (name: string, errorBudgetRemaining: number | null, burnAlerts = [burn(false)]) => ({ name, errorBudgetRemaining, burnAlerts });

describe("status ribbon levels", () => {
  it("takes the worst known level", () => {
    expect(worstLevel(["green", "amber", "unknown"])).toBe("amber");
    expect(worstLevel(["green", "red", "amber"])).toBe("red");
    expect(worstLevel(["unknown", "unknown"])).toBe("unknown");
    expect(worstLevel(["unknown", "green"])).toBe("green");
  });

  it("colours firing alerts: none green, any amber, a paging one red", () => {
    expect(alertsLevel(undefined)).toBe("unknown");
    expect(alertsLevel([])).toBe("green");
    expect(alertsLevel([{ severity: "info", state: "firing" }])).toBe("amber");
    expect(alertsLevel([{ severity: "ticket", state: "firing" }, { severity: "page", state: "firing" }])).toBe("red");
    expect(alertsLevel([{ severity: "page", state: "resolved" }])).toBe("green");
  });

  it("colours the error budget: overspent or paging burn red, low or burning amber", () => {
    expect(budgetLevel(null)).toBe("unknown");
    expect(budgetLevel(slo("ok", 0.9))).toBe("green");
    expect(budgetLevel(slo("low", 0.1))).toBe("amber");
    expect(budgetLevel(slo("burning", 0.9, [burn(true)]))).toBe("amber");
    expect(budgetLevel(slo("paging burn", 0.9, [burn(true, "page")]))).toBe("red");
    expect(budgetLevel(slo("overspent 1,096%", -10.96))).toBe("red");
    expect(budgetLevel(slo("no data", null))).toBe("unknown");
  });

  it("names the SLO that is worst off: level first, then the least budget left", () => {
    expect(worstSlo([slo("a", 0.9), slo("b", 0.5), slo("none", null)])?.name).toBe("b");
    expect(worstSlo([slo("low", 0.05), slo("paging", 0.95, [burn(true, "page")])])?.name).toBe("paging");
    expect(worstSlo([slo("none", null)])).toBeNull();
    expect(worstSlo(undefined)).toBeNull();
  });

  it("shows the newest rollout still in progress as the current release", () => {
    type Row = { id: string; status: RolloutStatus; createdAt: string };
    const r = (id: string, status: RolloutStatus, createdAt: string): Row => ({ id, status, createdAt });
    expect(
      newestActiveRollout([
        r("old", "running", "2025-06-01T10:00:00Z"),
        r("done", "succeeded", "2025-06-03T10:00:00Z"),
        r("new", "paused", "2025-06-02T10:00:00Z"),
      ])?.id,
    ).toBe("new");
    expect(newestActiveRollout([r("done", "aborted", "2025-06-03T10:00:00Z")])).toBeNull();
  });
});

describe("frozenBudgetsHere", () => {
  const b = (name: string, frozen: boolean, env?: string) => ({ name, frozen, scope: (env ? { env } : {}) as Record<string, string> });
  const all = [b("prod-cap", true, "prod"), b("tenant-cap", true), b("dev-cap", true, "dev"), b("open", false, "prod")];

  it("shows the frozen budgets of the current environment and those without one", () => {
    expect(frozenBudgetsHere(all, "prod").map((x) => x.name)).toEqual(["prod-cap", "tenant-cap"]);
  });

  it("shows every frozen budget when no environment is chosen", () => {
    expect(frozenBudgetsHere(all, null).map((x) => x.name)).toEqual(["prod-cap", "tenant-cap", "dev-cap"]);
  });
});
