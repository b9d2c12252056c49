import {
  allDecisionIds,
  changeValueText,
  decisionIdsFromMessage,
  describeChange,
  filterComponents,
  gateSteps,
  provenanceFacts,
  sbomComponentRows,
  sbomDiffSections,
  shortId,
  slsaLevelInfo,
} from "./attestations-model";

const ID_A = "3f2a9c0d4b5e6f708192a3b4c5d6e7f8";
const ID_B = "0011223344556677889900aabbccddee";

describe("decisionIdsFromMessage", () => {
  it("reads the id from an allowed gate message", () => {
    expect(decisionIdsFromMessage(`allowed by the promote policies for prod (decision ${ID_A})`)).toEqual([ID_A]);
  });

  it("reads the id from a denied gate message whose reasons contain parentheses", () => {
    const msg = `denied for prod: no SBOM (add a step with uses: sbom); unsigned artifact (dist/app.tar) (decision ${ID_B})`;
    expect(decisionIdsFromMessage(msg)).toEqual([ID_B]);
  });

  it("returns nothing for messages without a decision and keeps each id once", () => {
    expect(decisionIdsFromMessage("approved")).toEqual([]);
    expect(decisionIdsFromMessage("")).toEqual([]);
    expect(decisionIdsFromMessage(null)).toEqual([]);
    expect(decisionIdsFromMessage(`(decision ${ID_A}) then (decision ${ID_A}) and (decision ${ID_B})`)).toEqual([ID_A, ID_B]);
  });
});

describe("gateSteps", () => {
  const base = { status: "succeeded" as const, outputs: {} as Record<string, string> };
  it("keeps steps that name a decision and policy steps still waiting, drops the rest", () => {
    const gates = gateSteps([
      { ...base, key: "build", name: "Build", kind: "run", message: "" },
      { ...base, key: "gate", name: "", kind: "policy", message: `allowed by the promote policies for prod (decision ${ID_A})` },
      { ...base, key: "gate2", name: "Second gate", kind: "policy", status: "pending", message: "" },
      { ...base, key: "approve", name: "Approve", kind: "approval", message: "approved" },
    ]);
    expect(gates).toEqual([
      { key: "gate", name: "gate", status: "succeeded", message: expect.stringContaining(ID_A), decisionIds: [ID_A] },
      { key: "gate2", name: "Second gate", status: "pending", message: "", decisionIds: [] },
    ]);
    expect(allDecisionIds(gates)).toEqual([ID_A]);
  });

  it("also takes the decision from the step outputs, once", () => {
    const gates = gateSteps([
      { ...base, key: "g", name: "g", kind: "policy", message: `… (decision ${ID_A})`, outputs: { decision: ID_A } },
      { ...base, key: "h", name: "h", kind: "policy", message: "", outputs: { decision: ID_B } },
    ]);
    expect(gates.map((g) => g.decisionIds)).toEqual([[ID_A], [ID_B]]);
    expect(allDecisionIds([...gates, ...gates])).toEqual([ID_A, ID_B]);
  });
});

describe("slsaLevelInfo", () => {
  it("explains each level and clamps out-of-range values", () => {
    expect(slsaLevelInfo(2)).toMatchObject({ level: 2, label: "SLSA Build L2" });
    expect(slsaLevelInfo(2).explanation).toMatch(/signed by the control plane.*verifies/);
    expect(slsaLevelInfo(1).explanation).toMatch(/present but does not verify/);
    expect(slsaLevelInfo(0).explanation).toMatch(/did not succeed/);
    expect(slsaLevelInfo(3).level).toBe(2);
    expect(slsaLevelInfo(-1).level).toBe(0);
  });
});

describe("provenanceFacts", () => {
  it("reads builder, build type, parameters and dependencies of a SLSA v1 statement", () => {
    const facts = provenanceFacts({
      _type: "https://in-toto.io/Statement/v1",
      predicateType: "https://slsa.dev/provenance/v1",
      subject: [{ name: "dist/app.tar", digest: { sha256: "ab" } }],
      predicate: {
        buildDefinition: {
          buildType: "https://maestro.dev/buildtypes/pipeline/v1",
          externalParameters: { pipeline: "web", version: 3, inputs: { target: "prod" }, ref: "main" },
          resolvedDependencies: [
            { uri: "http://x/pipelines/p/versions/3", name: "pipeline spec web v3", digest: { sha256: "cafe" } },
            { uri: "git+https://git/x@main", digest: { gitCommit: "abc123" } },
            "not a dependency",
          ],
        },
        runDetails: { builder: { id: "http://x/builders/maestro-control" }, metadata: { invocationId: "run-1" } },
      },
    });
    expect(facts).toEqual({
      predicateType: "https://slsa.dev/provenance/v1",
      builderId: "http://x/builders/maestro-control",
      buildType: "https://maestro.dev/buildtypes/pipeline/v1",
      invocationId: "run-1",
      externalParameters: [
        ["pipeline", "web"],
        ["version", "3"],
        ["inputs", '{"target":"prod"}'],
        ["ref", "main"],
      ],
      resolvedDependencies: [
        { uri: "http://x/pipelines/p/versions/3", name: "pipeline spec web v3", digest: [["sha256", "cafe"]] },
        { uri: "git+https://git/x@main", name: "", digest: [["gitCommit", "abc123"]] },
      ],
    });
  });

  it("copes with a missing or malformed statement", () => {
    expect(provenanceFacts(null)).toEqual({
      predicateType: "",
      builderId: "",
      buildType: "",
      invocationId: "",
      externalParameters: [],
      resolvedDependencies: [],
    });
    expect(provenanceFacts({ predicate: "nope" }).builderId).toBe("");
  });
});

describe("sbomComponentRows", () => {
  const doc = {
    bomFormat: "CycloneDX",
    components: [
      { name: "requests", version: "2.32.3", purl: "pkg:pypi/requests@2.32.3", licenses: [{ license: { id: "Apache-2.0" } }] },
      { name: "left-pad", version: "1.3.0", purl: "pkg:npm/left-pad@1.3.0", licenses: [{ license: { name: "WTFPL" } }, { expression: "MIT OR ISC" }] },
      { name: "nolicense", version: "", purl: "" },
      { name: "nolicense", version: "", purl: "" },
    ],
  };

  it("flattens name, version, purl and licenses, with unique keys", () => {
    const rows = sbomComponentRows(doc);
    expect(rows.map((r) => [r.name, r.version, r.purl, r.license])).toEqual([
      ["requests", "2.32.3", "pkg:pypi/requests@2.32.3", "Apache-2.0"],
      ["left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0", "WTFPL, MIT OR ISC"],
      ["nolicense", "", "", ""],
      ["nolicense", "", "", ""],
    ]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(4);
    expect(sbomComponentRows({})).toEqual([]);
    expect(sbomComponentRows("garbage")).toEqual([]);
  });

  it("filters on every word, case-insensitively", () => {
    const rows = sbomComponentRows(doc);
    expect(filterComponents(rows, "NPM").map((r) => r.name)).toEqual(["left-pad"]);
    expect(filterComponents(rows, "pypi apache").map((r) => r.name)).toEqual(["requests"]);
    expect(filterComponents(rows, "pypi mit")).toEqual([]);
    expect(filterComponents(rows, "  ")).toHaveLength(4);
  });
});

describe("sbomDiffSections", () => {
  it("counts each section and the total, in a fixed order", () => {
    const { sections, total } = sbomDiffSections({
      added: [{ name: "a", purl: "pkg:pypi/a@1", version: "1" }],
      removed: [],
      upgraded: [
        { name: "b", purl: "pkg:pypi/b@2", from: "1.0", to: "2.0" },
        { name: "c", purl: "pkg:pypi/c@3", from: "2.9", to: "3.0" },
      ],
      downgraded: [],
      hashChanged: [{ name: "d", purl: "pkg:pypi/d@1", version: "1" }],
      licenseChanged: [{ name: "e", purl: "pkg:npm/e@1", from: ["MIT"], to: [] }],
    });
    expect(sections.map((s) => [s.label, s.count])).toEqual([
      ["Added", 1],
      ["Removed", 0],
      ["Upgraded", 2],
      ["Downgraded", 0],
      ["Hash changed", 1],
      ["License changed", 1],
    ]);
    expect(total).toBe(5);
  });

  it("describes changes in one line", () => {
    expect(describeChange("upgraded", { name: "b", purl: "", from: "1.0", to: "2.0" })).toBe("b 1.0 → 2.0");
    expect(describeChange("licenseChanged", { name: "e", purl: "", from: ["MIT", "ISC"], to: [] })).toBe("e MIT, ISC → none");
    expect(describeChange("added", { name: "a", purl: "", version: "1" })).toBe("a 1");
    expect(describeChange("removed", { name: "a", purl: "" })).toBe("a");
    expect(changeValueText(null)).toBe("none");
    expect(changeValueText({ x: 1 })).toBe('{"x":1}');
  });
});

describe("shortId", () => {
  it("shortens long ids and keeps short ones", () => {
    expect(shortId("0123456789abcdef0123")).toBe("0123456789ab…");
    expect(shortId("abc")).toBe("abc");
    expect(shortId(null)).toBe("");
  });
});
