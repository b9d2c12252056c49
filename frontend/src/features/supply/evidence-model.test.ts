import {
  evidenceFileName,
  generateBlockedReason,
  isEvidenceActive,
  progressPercent,
  ratio,
  summaryProblems,
  verifyCommand,
} from "./evidence-model";

describe("progressPercent", () => {
  it("is the rounded share of done steps", () => {
    expect(progressPercent(0, 9)).toBe(0);
    expect(progressPercent(3, 9)).toBe(33);
    expect(progressPercent(2, 3)).toBe(67);
    expect(progressPercent(9, 9)).toBe(100);
  });

  it("stays within 0..100 and is 0 while the total is unknown", () => {
    expect(progressPercent(12, 9)).toBe(100);
    expect(progressPercent(-1, 9)).toBe(0);
    expect(progressPercent(3, 0)).toBe(0);
    expect(progressPercent(Number.NaN, 9)).toBe(0);
  });
});

describe("isEvidenceActive", () => {
  it("is true while the bundle is being built", () => {
    expect(isEvidenceActive("pending")).toBe(true);
    expect(isEvidenceActive("running")).toBe(true);
    expect(isEvidenceActive("succeeded")).toBe(false);
    expect(isEvidenceActive("failed")).toBe(false);
    expect(isEvidenceActive(undefined)).toBe(false);
  });
});

describe("generateBlockedReason", () => {
  it("allows finished runs to callers with runs:write", () => {
    for (const s of ["succeeded", "failed", "cancelled"]) expect(generateBlockedReason(s, true)).toBeNull();
  });

  it("says why otherwise", () => {
    expect(generateBlockedReason("succeeded", false)).toMatch(/runs:write/);
    expect(generateBlockedReason("running", true)).toMatch(/The run is running.*finished run/);
    expect(generateBlockedReason("queued", true)).toMatch(/wait for it to finish/);
    expect(generateBlockedReason("error", true)).toMatch(/ended in an error/);
  });
});

describe("file name and command", () => {
  it("matches the API's download name", () => {
    const name = evidenceFileName("run123", "abcdef0123456789");
    expect(name).toBe("evidence-run123-abcdef01.zip");
    expect(verifyCommand(name)).toBe("maestro evidence verify evidence-run123-abcdef01.zip --key maestro.pub");
  });
});

describe("ratio", () => {
  it("reads x of y, and says when there was nothing to check", () => {
    expect(ratio(2, 3)).toBe("2 of 3");
    expect(ratio(0, 0)).toBe("none to check");
    expect(ratio(undefined, undefined)).toBe("none to check");
  });
});

describe("summaryProblems", () => {
  it("passes the builder's problems on", () => {
    expect(summaryProblems({ problems: ["sbom: bad json"], denyTestDenied: true })).toEqual(["sbom: bad json"]);
  });

  it("adds a deny test that was not denied, unless the builder already said so", () => {
    expect(summaryProblems({ problems: [], denyTestDenied: false })).toEqual([
      "deny test: the active promote policies allowed a known-bad promotion",
    ]);
    expect(summaryProblems({ problems: ["deny test: the active promote policies allowed a known-bad promotion"], denyTestDenied: false })).toHaveLength(1);
    expect(summaryProblems({})).toEqual([]);
  });
});
