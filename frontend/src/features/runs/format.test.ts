import { formatDuration, hasLogs } from "./format";

describe("formatDuration", () => {
  it("reads like a person would say it, without zero parts", () => {
    expect(formatDuration(450)).toBe("450 ms");
    expect(formatDuration(2500)).toBe("2.5 s");
    expect(formatDuration(95_000)).toBe("1 m 35 s");
    expect(formatDuration(600_000)).toBe("10 m"); // an SLO's "within 10 m", not "600000 ms"
    expect(formatDuration(3_900_000)).toBe("1 h 5 m");
    expect(formatDuration(7_200_000)).toBe("2 h");
    expect(formatDuration(null)).toBe("—");
  });
});

describe("hasLogs", () => {
  it("offers logs for shell steps and process-running built-ins, not for gates", () => {
    expect(hasLogs({ kind: "run", logLines: 0 })).toBe(true);
    expect(hasLogs({ kind: "sbom", logLines: 0 })).toBe(true);
    expect(hasLogs({ kind: "approval", logLines: 0 })).toBe(false);
    expect(hasLogs({ kind: "sign", logLines: 3 })).toBe(true);
  });
});
