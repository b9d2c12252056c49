import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { paramFields, toInputs } from "./params";
import { StartRunForm } from "./start-run-form";

const params = {
  target: { type: "string", enum: ["linux", "darwin"], default: "linux", description: "OS to build for" },
  shards: { type: "number", default: 2 },
  verbose: { type: "boolean", default: false },
  ticket: { type: "string", required: true },
  level: { type: "number", enum: [1, 2, 3] },
};

describe("start-run form generated from the spec's params", () => {
  it("maps types to controls with defaults and required marks", () => {
    const fields = paramFields(params);
    expect(fields.map((f) => [f.name, f.kind, f.initial, f.required])).toEqual([
      ["target", "select", "linux", false],
      ["shards", "number", "2", false],
      ["verbose", "checkbox", false, false],
      ["ticket", "text", "", true],
      ["level", "select", "", false],
    ]);
    expect(fields[4].numericOptions).toBe(true);
    expect(paramFields(undefined)).toEqual([]);
  });

  it("turns values into typed inputs and reports missing or malformed ones", () => {
    const fields = paramFields(params);
    expect(toInputs(fields, { target: "darwin", shards: "x", verbose: true, ticket: "", level: "" }).errors).toEqual({
      shards: "Enter a number.",
      ticket: "Required.",
    });
    expect(toInputs(fields, { target: "darwin", shards: "4", verbose: true, ticket: "OPS-1", level: "3" }).inputs).toEqual({
      target: "darwin",
      shards: 4,
      verbose: true,
      ticket: "OPS-1",
      level: 3,
    });
  });

  it("renders the fields, refuses a missing required param, then posts typed inputs, env, ref and labels", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/environments", body: { items: [{ name: "dev" }, { name: "staging" }, { name: "prod" }] } },
      { method: "POST", path: "/api/runs", status: 201, body: { id: "r1", pipelineName: "web", number: 7, env: "staging" } },
    ]);
    renderWithProviders(<StartRunForm pipeline="p1" version={3} params={params} defaultRef="main" />, {
      route: "/pipelines/p1?tab=run",
      session: adminSession,
    });
    const form = screen.getByRole("form", { name: "Start a run of p1" });
    expect(within(form).getByLabelText("target")).toHaveValue("linux");
    expect(within(form).getByRole("option", { name: "darwin" })).toBeInTheDocument();
    expect(within(form).getByLabelText("shards")).toHaveValue(2);
    expect(within(form).getByRole("checkbox", { name: "verbose" })).not.toBeChecked();
    expect(within(form).getByLabelText("ticket (required)")).toBeRequired();

    await user.click(within(form).getByRole("button", { name: "Start run" }));
    expect(within(form).getByText("Required.")).toBeInTheDocument();
    expect(calls.some((r) => r.method === "POST")).toBe(false);

    await user.type(within(form).getByLabelText("ticket (required)"), "OPS-42");
    await user.selectOptions(within(form).getByLabelText("target"), "darwin");
    await user.clear(within(form).getByLabelText("shards"));
    await user.type(within(form).getByLabelText("shards"), "5");
    await user.click(within(form).getByRole("checkbox", { name: "verbose" }));
    await user.selectOptions(within(form).getByLabelText("Environment"), "staging");
    await user.type(within(form).getByLabelText(/Git ref/), "release-1");
    await user.type(within(form).getByLabelText("Labels"), "team=web");
    await user.click(within(form).getByRole("button", { name: "Start run" }));

    const post = calls.find((r) => r.method === "POST");
    expect(await post?.json()).toEqual({
      pipeline: "p1",
      version: 3,
      inputs: { target: "darwin", shards: 5, verbose: true, ticket: "OPS-42" },
      env: "staging",
      labels: { team: "web" },
      ref: "release-1",
    });
  });

  it("takes focus into its first field when asked to (Start run…), not when merely shown", async () => {
    const user = userEvent.setup();
    mockApi([{ path: "/api/environments", body: { items: [{ name: "dev" }] } }]);
    function Harness() {
      const [n, setN] = useState(0);
      return (
        <>
          <button onClick={() => setN((x) => x + 1)}>Start run…</button>
          <StartRunForm pipeline="p1" version={3} params={params} focusRequest={n} />
        </>
      );
    }
    renderWithProviders(<Harness />, { route: "/pipelines/p1?tab=run", session: adminSession });
    expect(screen.getByLabelText("target")).not.toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Start run…" }));
    expect(screen.getByLabelText("target")).toHaveFocus();
  });
});
