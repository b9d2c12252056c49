import { commonKeys, fieldMatcher, fieldsOf, formatFieldFilter, parseFieldFilter, parseLogFields } from "./log-fields";

const fields = (line: string) => Object.fromEntries(parseLogFields(line) ?? []);

describe("parseLogFields", () => {
  it("reads key=value pairs, quoted values with escapes and spaces included", () => {
    expect(fields(`ts=2025-06-01T10:00:00Z level=error msg="request failed: \\"timeout\\"" status=500 path=/api/x`)).toEqual({
      ts: "2025-06-01T10:00:00Z",
      level: "error",
      msg: 'request failed: "timeout"',
      status: "500",
      path: "/api/x",
    });
    expect(fields("user='Ada Lovelace' empty= retry=3")).toEqual({ user: "Ada Lovelace", empty: "", retry: "3" });
    expect(fields("http.status=404 k8s.pod/name=web-1")).toEqual({ "http.status": "404", "k8s.pod/name": "web-1" });
  });

  it("keeps the order and every repeat of a key", () => {
    expect(parseLogFields("a=1 b=2 a=3")).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
  });

  it("flattens JSON objects with dots, arrays by index, alone or after a prefix", () => {
    expect(fields(`{"level":"warn","http":{"status":503,"req":{"method":"GET"}},"tags":["a","b"],"ok":false,"err":null}`)).toEqual({
      level: "warn",
      "http.status": "503",
      "http.req.method": "GET",
      "tags.0": "a",
      "tags.1": "b",
      ok: "false",
      err: "null",
    });
    expect(fields(`2025-06-01 10:00:00 app {"level":"info","user":{"id":7}}`)).toEqual({ level: "info", "user.id": "7" });
    expect(fields(`{"empty":{},"none":[]}`)).toEqual({ empty: "{}", none: "[]" });
  });

  it("ignores ANSI colours", () => {
    expect(fields("\u001b[31mlevel=error\u001b[0m code=E1")).toEqual({ level: "error", code: "E1" });
  });

  it("finds nothing in lines that are neither", () => {
    for (const line of [
      "",
      "compiling 12 files",
      "GET http://example.test/path?a=1&b=2 200",
      "if (a == b) { return; }",
      "x==y",
      "--index-url=https://mirror",
      "{not json}",
      "[1, 2, 3]",
    ]) {
      expect(parseLogFields(line), line).toBeNull();
    }
  });

  it("reads a logfmt value that looks like JSON as a value, not as the line's JSON", () => {
    expect(fields(`event=done data={"a":1}`)).toEqual({ event: "done", data: `{"a":1}` });
  });

  it("remembers a line's fields per line object", () => {
    const l = { line: "a=1" };
    expect(fieldsOf(l)).toBe(fieldsOf(l));
  });
});

describe("field filter", () => {
  it("parses conditions, quoted values and what is not a condition", () => {
    expect(parseFieldFilter(`level=error status!=200 msg="bad thing" oops`)).toEqual({
      conditions: [
        { key: "level", op: "=", value: "error" },
        { key: "status", op: "!=", value: "200" },
        { key: "msg", op: "=", value: "bad thing" },
      ],
      invalid: ["oops"],
    });
    expect(parseFieldFilter("")).toEqual({ conditions: [], invalid: [] });
  });

  it("formats conditions back into text that parses to the same", () => {
    const conditions = parseFieldFilter(`level=error msg="a \\"b\\"" empty=""`).conditions;
    expect(parseFieldFilter(formatFieldFilter(conditions)).conditions).toEqual(conditions);
  });

  it("keeps the lines whose fields match every condition, case-insensitively, with * globs", () => {
    const lines = [
      "level=error status=500 path=/a",
      `{"level":"ERROR","status":503}`,
      "level=info status=200",
      "plain text",
    ].map((line) => ({ line }));
    const keep = (filter: string) => {
      const m = fieldMatcher(parseFieldFilter(filter).conditions);
      return lines.filter((l) => m(fieldsOf(l))).map((l) => l.line);
    };
    expect(keep("level=error")).toEqual([lines[0].line, lines[1].line]);
    expect(keep("level=error status=500")).toEqual([lines[0].line]);
    expect(keep("Status=5*")).toEqual([lines[0].line, lines[1].line]);
    expect(keep("level!=error")).toEqual([lines[2].line, lines[3].line]);
    expect(keep("path=/a.")).toEqual([]); // a dot is a dot, not a regex wildcard
    expect(keep("")).toEqual(lines.map((l) => l.line));
  });

  it("lists the keys seen, most frequent first", () => {
    expect(commonKeys([{ line: "a=1 b=2" }, { line: "b=3" }, { line: "no fields" }])).toEqual(["b", "a"]);
  });
});
