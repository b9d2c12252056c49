import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ArrowLeftIcon, SaveIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { pipelinesCreateMutation } from "@/client/@tanstack/react-query.gen";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";
import { asProblem } from "@/lib/api-error";
import { useEnvHref } from "@/lib/env";
import { toast } from "@/lib/toast";
import { RequirePermission } from "@/features/auth/require-permission";
import { invalidatePipelines } from "./queries";
import { SpecEditor } from "./spec-editor";

/** A starting point that shows the spec's features; every line of it is editable. */
const STARTER = `name: my-pipeline
description: Build and test in parallel, then ship after an approval.
params:
  target:
    type: string
    enum: [linux, darwin]
    default: linux
  verbose:
    type: boolean
    default: false
steps:
  - id: build
    run: |
      mkdir -p out
      echo "building for \${{ params.target }}"
      echo "binary for \${{ params.target }}" > out/app.bin
    artifacts: ["out/*.bin"]
  - id: test
    run: echo "running the tests"
  - id: approve
    uses: approval
    needs: [build, test]
    with:
      message: Ship this build?
  - id: ship
    needs: [approve]
    run: echo shipped
`;

function NewPipelineView() {
  const [text, setText] = useState(STARTER);
  const [submitted, setSubmitted] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  const create = useMutation({
    ...pipelinesCreateMutation(),
    onSuccess: (p) => {
      toast({ title: "Pipeline created", description: `${p.name} v${p.latestVersion}`, variant: "success" });
      navigate(href(`/pipelines/${p.id}`));
    },
    onSettled: () => invalidatePipelines(queryClient),
  });
  const problem = create.error ? asProblem(create.error) : null;
  const specProblems = problem?.errors?.length && submitted === text ? problem.errors : null;

  function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(text);
    create.mutate({ body: { spec: text } });
  }

  return (
    <>
      <PageHeader
        title="New pipeline"
        description="Write the spec as YAML (or JSON). It is checked as you type; saving registers version 1 under the spec's name."
        actions={
          <Button asChild variant="ghost" size="sm">
            <EnvLink to="/pipelines">
              <ArrowLeftIcon aria-hidden="true" /> All pipelines
            </EnvLink>
          </Button>
        }
      />
      <form className="grid max-w-4xl gap-4" onSubmit={submit} noValidate>
        <SpecEditor value={text} onChange={setText} serverProblems={specProblems} />
        {problem && !specProblems ? <ErrorState error={problem} title="Could not create the pipeline" compact /> : null}
        <div className="flex gap-2">
          <Button type="submit" disabled={create.isPending || !text.trim()}>
            <SaveIcon aria-hidden="true" />
            {create.isPending ? "Creating…" : "Create pipeline"}
          </Button>
        </div>
      </form>
    </>
  );
}

export function PipelineNewPage() {
  return (
    <RequirePermission anyOf={["pipelines:write"]} title="New pipeline">
      <NewPipelineView />
    </RequirePermission>
  );
}

export const Component = PipelineNewPage;
