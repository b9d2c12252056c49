import { sortEnvNames, withEnv } from "@/lib/env";
import { can } from "@/lib/permissions";

describe("withEnv", () => {
  it("keeps the selected environment on in-app links", () => {
    expect(withEnv("/admin/tokens", "prod")).toBe("/admin/tokens?env=prod");
    expect(withEnv("/admin/tokens?focus=t1", "prod")).toBe("/admin/tokens?focus=t1&env=prod");
    expect(withEnv("/admin/audit#top", "dev")).toBe("/admin/audit?env=dev#top");
  });
  it("leaves links alone without an environment, or when they name their own", () => {
    expect(withEnv("/admin/users", null)).toBe("/admin/users");
    expect(withEnv("/?env=staging", "prod")).toBe("/?env=staging");
  });
  it("orders environments dev, staging, prod, then the rest", () => {
    expect(sortEnvNames(["prod", "qa", "dev", "staging", "dev"])).toEqual(["dev", "staging", "prod", "qa"]);
  });
});

describe("can", () => {
  it("grants everything to admin:* and exact permissions otherwise", () => {
    expect(can(["admin:*"], "admin:users")).toBe(true);
    expect(can(["audit:read"], "audit:read")).toBe(true);
    expect(can(["audit:read"], "admin:users")).toBe(false);
    expect(can(undefined, "audit:read")).toBe(false);
  });
});
