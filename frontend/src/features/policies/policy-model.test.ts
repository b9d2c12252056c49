import { ApiError, toApiError } from "@/lib/api-error";
import {
  allowedParam,
  compileErrors,
  EXAMPLE_POLICY,
  lineRange,
  numberedLines,
  orderedPoints,
  parseCompileMessage,
  pointLabel,
  POLICY_NAME,
} from "./policy-model";

describe("parseCompileMessage", () => {
  it("splits the line and column off the message", () => {
    expect(parseCompileMessage("line 5, column 3: rego_parse_error: unexpected } token")).toEqual({
      line: 5,
      column: 3,
      message: "rego_parse_error: unexpected } token",
    });
  });

  it("keeps messages without a position whole", () => {
    expect(parseCompileMessage(" `import rego.v1` is required ")).toEqual({ line: null, column: null, message: "`import rego.v1` is required" });
  });
});

describe("compileErrors", () => {
  it("reads every source error of a 422 problem", () => {
    const error = toApiError(
      {
        title: "Invalid request",
        status: 422,
        detail: "The policy does not compile: unexpected token",
        errors: [
          { field: "source", message: "line 2, column 1: unexpected token" },
          { field: "source", message: "line 7, column 12: var x is unsafe" },
          { field: "body.name", message: "String should match pattern" },
        ],
      },
      new Response(null, { status: 422 }),
    );
    expect(compileErrors(error)).toEqual([
      { line: 2, column: 1, message: "unexpected token" },
      { line: 7, column: 12, message: "var x is unsafe" },
    ]);
  });

  it("is empty for other failures", () => {
    expect(compileErrors(new ApiError({ status: 409, title: "Conflict", detail: "exists", errors: [{ field: "source", message: "x" }] }))).toEqual([]);
    expect(compileErrors(new Error("boom"))).toEqual([]);
    expect(compileErrors(null)).toEqual([]);
  });
});

describe("lineRange", () => {
  const text = "package a\n\nimport rego.v1\n";
  it("finds the offsets of a line", () => {
    expect(lineRange(text, 1)).toEqual([0, 9]);
    expect(text.slice(...lineRange(text, 3))).toBe("import rego.v1");
    expect(lineRange(text, 2)).toEqual([10, 10]);
  });

  it("clamps lines outside the text", () => {
    expect(lineRange(text, 0)).toEqual([0, 9]);
    expect(lineRange(text, 99)).toEqual([text.length, text.length]);
  });
});

describe("numberedLines", () => {
  it("numbers each line from 1 and ignores the final newline", () => {
    expect(numberedLines("a\n\tb\n")).toEqual([
      { n: 1, text: "a" },
      { n: 2, text: "\tb" },
    ]);
    expect(numberedLines(EXAMPLE_POLICY)).toHaveLength(9);
  });
});

describe("allowedParam", () => {
  it("reads true and false, anything else as both", () => {
    expect(allowedParam("true")).toBe(true);
    expect(allowedParam("false")).toBe(false);
    expect(allowedParam("")).toBeUndefined();
    expect(allowedParam("yes")).toBeUndefined();
  });
});

describe("orderedPoints and labels", () => {
  it("keeps the API's order and drops unknown points", () => {
    expect(orderedPoints(["promote", "admission", "bogus", "promote"])).toEqual(["admission", "promote"]);
    expect(pointLabel("run_start")).toBe("Run start");
    expect(pointLabel("custom")).toBe("custom");
  });
});

describe("EXAMPLE_POLICY", () => {
  it("is a rego.v1 admission policy with a deny rule", () => {
    expect(EXAMPLE_POLICY.startsWith("package maestro.admission.example\n\nimport rego.v1\n")).toBe(true);
    expect(EXAMPLE_POLICY).toContain("deny contains msg if {");
    expect(EXAMPLE_POLICY).toContain('\tcontains(step.run, "curl | sh")');
  });

  it("names follow the API's pattern", () => {
    expect(POLICY_NAME.test("no-curl-pipe-sh")).toBe(true);
    expect(POLICY_NAME.test("No_Curl")).toBe(false);
    expect(POLICY_NAME.test("-x")).toBe(false);
  });
});
