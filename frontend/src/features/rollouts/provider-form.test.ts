import { buildSettings, humanize, initialSettings, settingsForm } from "./provider-form";

describe("provider settings form", () => {
  it("names settings in words, keeping written titles", () => {
    expect(humanize("runtimeApi")).toBe("Runtime API");
    expect(humanize("backend_name")).toBe("Backend name");
    expect(humanize("gateway-name")).toBe("Gateway name");
    const form = settingsForm({
      properties: {
        runtimeApi: { title: "Runtimeapi", type: "string" },
        route: { title: "HTTPRoute name", type: "string" },
      },
    });
    expect(form.fields.map((f) => f.label)).toEqual(["Runtime API", "HTTPRoute name"]);
  });

  it("reads enums behind $ref, optional (X | None) types, and names what it cannot edit", () => {
    const form = settingsForm({
      $defs: { Mode: { enum: ["http", "tcp"], title: "Mode", type: "string" } },
      properties: {
        mode: { $ref: "#/$defs/Mode", default: "tcp" },
        prefix: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Prefix" },
        headers: { type: "object", title: "Headers" },
        port: { type: "integer", minimum: 1, maximum: 65535 },
      },
      required: ["port"],
    });
    expect(form.unsupported).toEqual(["headers"]);
    expect(form.fields).toEqual([
      { key: "mode", label: "Mode", description: undefined, type: "string", required: false, default: "tcp", options: ["http", "tcp"], minimum: undefined, maximum: undefined },
      { key: "prefix", label: "Prefix", description: undefined, type: "string", required: false, default: undefined, options: undefined, minimum: undefined, maximum: undefined },
      { key: "port", label: "Port", description: undefined, type: "integer", required: true, default: undefined, options: undefined, minimum: 1, maximum: 65535 },
    ]);
    expect(initialSettings(form.fields)).toEqual({ mode: "tcp", prefix: "", port: "" });
  });

  it("sends whole numbers as numbers, leaves empty optional settings to the provider and keys errors like the API", () => {
    const { fields } = settingsForm({
      properties: { port: { type: "integer", minimum: 1, maximum: 65535 }, name: { type: "string" }, tls: { type: "boolean" } },
      required: ["port"],
    });
    expect(buildSettings(fields, { port: " 8404 ", name: "", tls: true })).toEqual({ config: { port: 8404, tls: true }, errors: {} });
    expect(buildSettings(fields, { port: "0", name: "x", tls: false }).errors).toEqual({ "providerConfig.port": "At least 1." });
    expect(buildSettings(fields, { port: "80x", name: "x", tls: false }).errors).toEqual({ "providerConfig.port": "Write a whole number, e.g. 1." });
    expect(buildSettings(fields, { port: "", name: "x", tls: false }).errors).toEqual({ "providerConfig.port": "Give the port." });
    const described = settingsForm({ properties: { adminSocket: { type: "string", description: "HAProxy's admin socket (`stats socket`)" } }, required: ["adminSocket"] });
    expect(buildSettings(described.fields, { adminSocket: " " }).errors).toEqual({ "providerConfig.adminSocket": "Give the admin socket." });
  });

  it("reads a number that must be above a bound, and an example for the placeholder", () => {
    const { fields } = settingsForm({
      properties: {
        timeoutSeconds: { default: 2.0, exclusiveMinimum: 0, maximum: 30, type: "number" },
        adminSocket: { examples: ["/run/haproxy/admin.sock"], type: "string" },
      },
    });
    expect(fields[0]).toMatchObject({ type: "number", above: 0, maximum: 30, default: 2 });
    expect(fields[1]).toMatchObject({ example: "/run/haproxy/admin.sock" });
    expect(buildSettings(fields, { timeoutSeconds: "0", adminSocket: "" }).errors).toEqual({ "providerConfig.timeoutSeconds": "More than 0." });
    expect(buildSettings(fields, { timeoutSeconds: "0.5", adminSocket: "" })).toEqual({ config: { timeoutSeconds: 0.5 }, errors: {} });
  });
});
