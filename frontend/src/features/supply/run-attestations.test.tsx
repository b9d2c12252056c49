import { screen, within } from "@testing-library/react";
import type { Attestations } from "@/client/types.gen";
import type { RunDetail } from "@/features/runs/queries";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { RunAttestations } from "./run-attestations";
import { makeStep } from "@/test/fixtures";

const KEYID = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const DECISION = "3f2a9c0d4b5e6f708192a3b4c5d6e7f8";

const step = makeStep;

const run = {
  id: "run1",
  status: "succeeded",
  finishedAt: "2025-06-01T10:05:00Z",
  artifacts: [{ id: "a1" }],
  steps: [
    step("build", {}),
    step("gate", {
      name: "Promote gate",
      kind: "policy",
      status: "failed",
      message: `denied for prod: unsigned artifact dist/app.tar (decision ${DECISION})`,
    }),
  ],
} as unknown as RunDetail;

const attestations: Attestations = {
  runId: "run1",
  slsaLevel: 2,
  provenance: {
    id: "att1",
    keyid: KEYID,
    verified: true,
    subjects: 2,
    statement: {
      predicateType: "https://slsa.dev/provenance/v1",
      predicate: {
        buildDefinition: {
          buildType: "https://maestro.dev/buildtypes/pipeline/v1",
          externalParameters: { pipeline: "web", version: 3 },
          resolvedDependencies: [{ uri: "git+https://git.example/web@main", digest: { gitCommit: "abc123" } }],
        },
        runDetails: { builder: { id: "https://maestro.example/builders/maestro-control" } },
      },
    },
  },
  signatures: [
    { path: "dist/app.tar", sha256: "ab".repeat(32), keyid: KEYID, signature: "MEUCIQ-signature", verified: true },
    { path: "dist/app.sig-bad", sha256: "cd".repeat(32), keyid: KEYID, signature: "MEUCIQ-other", verified: false },
  ],
  sbom: { artifactId: "sbom1", sha256: "ef".repeat(32), components: 2 },
  problems: ["signature of dist/app.sig-bad does not verify"],
};

const sbomDoc = {
  bomFormat: "CycloneDX",
  components: [
    { name: "requests", version: "2.32.3", purl: "pkg:pypi/requests@2.32.3", licenses: [{ license: { id: "Apache-2.0" } }] },
    { name: "left-pad", version: "1.3.0", purl: "pkg:npm/left-pad@1.3.0" },
  ],
};

describe("RunAttestations", () => {
  it("shows the level, provenance, signatures, SBOM with its diff and the gate's policy decisions", async () => {
    const { calls } = mockApi([
      { path: "/api/runs/run1/attestations", body: attestations },
      { path: "/api/runs/run1/sbom", body: sbomDoc },
      {
        path: "/api/runs/run1/sbom/diff",
        body: {
          runId: "run1",
          baseRunId: null,
          added: [{ name: "requests", purl: "pkg:pypi/requests@2.32.3", version: "2.32.3" }],
          removed: [],
          upgraded: [],
          downgraded: [],
          hashChanged: [],
          licenseChanged: [],
        },
      },
      {
        path: "/api/policies/decisions",
        body: {
          items: [
            {
              id: "d1",
              batchId: DECISION,
              point: "promote",
              subject: "run run1 to prod",
              policyId: "pol-signed",
              policyName: "require-signatures",
              revision: 2,
              sourceSha256: "",
              inputSha256: "00",
              allowed: false,
              reasons: ["unsigned artifact dist/app.tar"],
              warnings: [],
              error: "",
              durationMs: 3,
              actor: "run",
              createdAt: "2025-06-01T10:04:00Z",
            },
          ],
          nextCursor: null,
        },
      },
    ]);
    renderWithProviders(<RunAttestations run={run} />, { session: adminSession });

    expect(await screen.findByTestId("slsa-level")).toHaveTextContent("SLSA Build L2");
    expect(screen.getByTestId("attestation-problems")).toHaveTextContent("signature of dist/app.sig-bad does not verify");

    const provenance = screen.getByRole("region", { name: "Provenance" });
    expect(within(provenance).getByTestId("provenance-verified")).toHaveTextContent("verified");
    expect(within(provenance).getByTestId("provenance-keyid")).toHaveTextContent(KEYID.slice(0, 16));
    expect(within(provenance).getByTestId("provenance-subjects")).toHaveTextContent("2");
    expect(provenance).toHaveTextContent("https://maestro.example/builders/maestro-control");
    expect(provenance).toHaveTextContent("https://maestro.dev/buildtypes/pipeline/v1");
    expect(provenance).toHaveTextContent("git+https://git.example/web@main");
    expect(within(provenance).getByRole("link", { name: "Download provenance" })).toHaveAttribute("href", "/api/runs/run1/provenance");

    const signatures = screen.getByRole("table", { name: "Artifact signatures" });
    const rows = within(signatures).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("verified");
    expect(rows[1]).toHaveTextContent("not verified");
    expect(within(rows[0]).getByRole("button", { name: "Copy signature of dist/app.tar" })).toBeInTheDocument();

    expect(screen.getByTestId("sbom-components")).toHaveTextContent("2");
    expect(await screen.findByTestId("sbom-diff-base")).toHaveTextContent("First SBOM of this pipeline");
    expect(screen.getByTestId("sbom-diff-added")).toHaveTextContent("1");
    expect(screen.getByTestId("sbom-diff-removed")).toHaveTextContent("0");
    const components = await screen.findByRole("table", { name: "SBOM components" });
    expect(within(components).getByText("pkg:pypi/requests@2.32.3")).toBeInTheDocument();
    expect(within(components).getByText("Apache-2.0")).toBeInTheDocument();

    const gate = await screen.findByRole("table", { name: "Policy decisions of step Promote gate" });
    expect(await within(gate).findByRole("link", { name: "require-signatures" })).toHaveAttribute("href", "/policies/pol-signed");
    expect(gate).toHaveTextContent("denied");
    expect(gate).toHaveTextContent("unsigned artifact dist/app.tar");
    const decisionCall = calls.find((r) => new URL(r.url).pathname === "/api/policies/decisions");
    expect(new URL(decisionCall!.url).searchParams.get("batch")).toBe(DECISION);
  });

  it("explains what is missing when a run has no provenance, signatures, SBOM or gate", async () => {
    mockApi([
      { path: "/api/runs/run2/attestations", body: { runId: "run2", slsaLevel: 0, provenance: null, signatures: [], sbom: null, problems: [] } },
    ]);
    const failed = { ...run, id: "run2", status: "failed", steps: [step("build", { status: "failed" })] } as unknown as RunDetail;
    renderWithProviders(<RunAttestations run={failed} />, { session: adminSession });
    expect(await screen.findByTestId("slsa-level")).toHaveTextContent("SLSA Build L0");
    expect(screen.getByText("No provenance: only successful runs get signed provenance")).toBeInTheDocument();
    expect(screen.getByText(/^No SBOM: add a step with/)).toHaveTextContent("No SBOM: add a step with uses: sbom");
    expect(screen.getByText(/^No signatures: add a step with/)).toHaveTextContent("No signatures: add a step with uses: sign");
    expect(screen.getByText("No policy gate in this run")).toBeInTheDocument();
    expect(screen.queryByTestId("attestation-problems")).not.toBeInTheDocument();
  });
});
