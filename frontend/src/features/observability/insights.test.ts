import { costCenterHref, daysLabel, dimensionLabel, formatRate, formatUsd, parseDays, pipelineRunsHref } from "./insights";

describe("parseDays", () => {
  it("accepts the offered windows and falls back to a week", () => {
    expect(parseDays("1")).toBe(1);
    expect(parseDays("90")).toBe(90);
    expect(parseDays("14")).toBe(7);
    expect(parseDays("abc")).toBe(7);
    expect(parseDays(null)).toBe(7);
    expect(daysLabel(1)).toBe("Last 24 hours");
    expect(daysLabel(30)).toBe("Last 30 days");
  });
});

describe("formatUsd", () => {
  it("shows dollars with cents, and small amounts precisely", () => {
    expect(formatUsd(1234.5)).toBe("$1,234.50");
    expect(formatUsd(0.0042)).toBe("$0.0042");
    expect(formatUsd(0.5)).toBe("$0.50");
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(null)).toBe("—");
  });

  it("rounds rates to two decimals", () => {
    expect(formatRate(0.2857)).toBe("0.29");
    expect(formatRate(12)).toBe("12");
  });
});

describe("cost centers", () => {
  it("names the dimension in words", () => {
    expect(dimensionLabel("env")).toBe("environment");
    expect(dimensionLabel("label:team")).toBe("label team");
    expect(dimensionLabel("pipeline")).toBe("pipeline");
  });

  it("links each dimension to the runs table filtered the same way", () => {
    expect(pipelineRunsHref("web app")).toBe("/runs?pipeline=web+app");
    expect(costCenterHref("pipeline", "deploy")).toBe("/runs?pipeline=deploy");
    expect(costCenterHref("env", "prod")).toBe("/runs?env=prod");
    const label = costCenterHref("label:team", "web");
    expect(label).toBe("/runs?label=team%3Dweb");
    expect(new URLSearchParams(label?.split("?")[1]).getAll("label")).toEqual(["team=web"]);
    expect(costCenterHref("owner", "ada")).toBeNull();
  });
});
