import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { EvidencePublic } from "@/client/types.gen";
import type { RunDetail } from "@/features/runs/queries";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { RunEvidence } from "./run-evidence";

const KEYID = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

function bundle(over: Partial<EvidencePublic>): EvidencePublic {
  return {
    id: "b0ddf00d11223344",
    runId: "run1",
    workflowId: "evidence-b0ddf00d11223344",
    status: "pending",
    stage: "",
    done: 0,
    total: 9,
    sha256: "",
    size: 0,
    keyid: "",
    summary: {},
    error: "",
    createdBy: "admin",
    createdAt: "2025-06-01T10:00:00Z",
    finishedAt: null,
    downloadUrl: null,
    ...over,
  };
}

const finished = { id: "run1", status: "succeeded", steps: [], artifacts: [] } as unknown as RunDetail;

describe("RunEvidence", () => {
  it("generates a bundle, follows its progress and offers the download with the summary", async () => {
    const user = userEvent.setup();
    const poll = { path: "/api/evidence/b0ddf00d11223344", body: bundle({ status: "running", stage: "attestations", done: 3 }) as unknown };
    const { calls } = mockApi([
      { path: "/api/runs/run1/evidence", body: { items: [] } },
      { path: "/api/keys", body: { items: [{ keyid: KEYID, algorithm: "ecdsa-p256", publicPem: "", createdAt: "", retiredAt: null, active: true }] } },
      { method: "POST", path: "/api/evidence/run/run1", status: 202, body: bundle({}) },
      poll,
    ]);
    renderWithProviders(<RunEvidence run={finished} />, { session: adminSession });

    expect(await screen.findByText("No witness bundle yet")).toBeInTheDocument();
    const generate = screen.getByRole("button", { name: "Generate witness bundle" });
    expect(generate).toBeEnabled();
    await user.click(generate);

    expect(await screen.findByTestId("evidence-status")).toHaveTextContent("pending");
    expect(screen.getByTestId("evidence-progress")).toHaveAttribute("aria-valuenow", "0");
    const post = calls.find((r) => r.method === "POST");
    expect(new URL(post!.url).pathname).toBe("/api/evidence/run/run1");
    expect(post?.headers.get("X-CSRF-Token")).toBe("csrf-123");

    // The first poll: running, 3 of 9.
    await screen.findByText(/3 of 9 steps, now: attestations/);
    expect(screen.getByTestId("evidence-status")).toHaveTextContent("running");
    expect(screen.getByRole("progressbar", { name: "Witness bundle progress" })).toHaveAttribute("aria-valuenow", "33");

    poll.body = bundle({
      status: "succeeded",
      stage: "seal",
      done: 9,
      sha256: SHA,
      size: 20480,
      keyid: KEYID,
      finishedAt: "2025-06-01T10:00:09Z",
      downloadUrl: "/api/evidence/b0ddf00d11223344/download",
      summary: {
        files: 17,
        slsaLevel: 2,
        provenanceVerified: true,
        signatures: 2,
        signaturesVerified: 2,
        artifacts: 3,
        artifactsMatching: 3,
        sbomComponents: 42,
        sbomChanges: 5,
        policies: 4,
        decisions: 6,
        denyTestDenied: true,
        denyTestReasons: ["unsigned artifact dist/app.tar", "no SBOM"],
        syntheticAlertObserved: true,
        syntheticAlertVia: ["webhook", "stream"],
        slos: 3,
        problems: [],
      },
    });
    const link = await screen.findByRole("link", { name: "Download witness bundle" });
    expect(link).toHaveAttribute("href", "/api/evidence/b0ddf00d11223344/download");
    expect(link).toHaveAttribute("download");
    expect(screen.getByTestId("evidence-status")).toHaveTextContent("succeeded");
    expect(screen.queryByTestId("evidence-progress")).not.toBeInTheDocument();
    expect(screen.getByTestId("evidence-sha256")).toHaveTextContent(SHA);
    expect(screen.getByTestId("evidence-size")).toHaveTextContent("20 KiB");

    const summary = screen.getByTestId("evidence-summary");
    expect(within(summary).getByTestId("evidence-files")).toHaveTextContent("17");
    expect(within(summary).getByTestId("evidence-slsa")).toHaveTextContent("L2");
    expect(within(summary).getByTestId("evidence-signatures")).toHaveTextContent("2 of 2");
    expect(within(summary).getByTestId("evidence-artifacts")).toHaveTextContent("3 of 3");
    expect(within(summary).getByTestId("evidence-sbom")).toHaveTextContent("42 components, 5 changes since the base run");
    expect(within(summary).getByTestId("evidence-policies")).toHaveTextContent("4 policies, 6 decisions");
    expect(within(summary).getByTestId("evidence-deny-test")).toHaveTextContent(/denied.*unsigned artifact dist\/app\.tar/);
    expect(within(summary).getByTestId("evidence-synthetic")).toHaveTextContent("observed via webhook, stream");
    expect(within(summary).getByTestId("evidence-slos")).toHaveTextContent("3 SLOs");
    expect(within(summary).getByTestId("evidence-problems")).toHaveTextContent("None: every check passed.");

    expect(screen.getByTestId("evidence-verify-command")).toHaveTextContent(
      "maestro evidence verify evidence-run1-b0ddf00d.zip --key maestro.pub",
    );
    const key = screen.getByRole("link", { name: "Download the public key (maestro.pub)" });
    expect(key).toHaveAttribute("href", `/api/keys/${KEYID}.pem`);
    expect(key).toHaveAttribute("download", "maestro.pub");
  });

  it("shows a failed bundle with its error and starts a new one on Try again", async () => {
    const user = userEvent.setup();
    const failed = bundle({ id: "f00f00f00f", status: "failed", error: "store unreachable", finishedAt: "2025-06-01T10:01:00Z" });
    const { calls } = mockApi([
      { path: "/api/runs/run1/evidence", body: { items: [failed] } },
      { path: "/api/evidence/f00f00f00f", body: failed },
      { path: "/api/keys", body: { items: [] } },
      { method: "POST", path: "/api/evidence/run/run1", status: 202, body: bundle({ id: "n3wn3wn3w" }) },
      { path: "/api/evidence/n3wn3wn3w", body: bundle({ id: "n3wn3wn3w", status: "running", done: 1 }) },
    ]);
    renderWithProviders(<RunEvidence run={finished} />, { session: adminSession });

    expect(await screen.findByTestId("evidence-status")).toHaveTextContent("failed");
    expect(screen.getByRole("alert")).toHaveTextContent("store unreachable");
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("evidence-progress")).toBeInTheDocument();
    expect(screen.getByTestId("evidence-status")).toHaveTextContent("pending");
    expect(calls.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("counts a deny test that was not denied as a problem", async () => {
    const done = bundle({
      status: "succeeded",
      sha256: SHA,
      size: 100,
      keyid: KEYID,
      downloadUrl: "/api/evidence/b0ddf00d11223344/download",
      summary: { denyTestDenied: false, denyTestReasons: [], problems: [] },
    });
    mockApi([
      { path: "/api/runs/run1/evidence", body: { items: [done] } },
      { path: "/api/evidence/b0ddf00d11223344", body: done },
      { path: "/api/keys", body: { items: [] } },
    ]);
    renderWithProviders(<RunEvidence run={finished} />, { session: adminSession });
    const problems = await screen.findByTestId("evidence-problems");
    expect(problems).toHaveTextContent("deny test: the active promote policies allowed a known-bad promotion");
    expect(screen.getByTestId("evidence-deny-test")).toHaveTextContent("not denied");
  });

  it("disables the button with the reason while the run is not finished", async () => {
    mockApi([
      { path: "/api/runs/run1/evidence", body: { items: [] } },
      { path: "/api/keys", body: { items: [] } },
    ]);
    const running = { ...finished, status: "running" } as RunDetail;
    renderWithProviders(<RunEvidence run={running} />, { session: adminSession });
    const generate = screen.getByRole("button", { name: "Generate witness bundle" });
    expect(generate).toBeDisabled();
    expect(generate).toHaveAccessibleDescription(/The run is running: a witness bundle describes a finished run/);
  });
});
