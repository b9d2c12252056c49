import { useMutation, useQueryClient } from "@tanstack/react-query";
import { RocketIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { runsActionMutation } from "@/client/@tanstack/react-query.gen";
import type { RunPublic } from "@/client/types.gen";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Textarea } from "@/components/ui/textarea";
import { useEnvHref } from "@/lib/env";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { canaryFormErrors } from "./model";
import { PromoteProblem } from "./promote-problem";
import { invalidateRolloutLists, invalidateServices } from "./queries";
import { ServiceSelect } from "./service-select";

type PromotableRun = Pick<RunPublic, "id" | "status" | "pipelineName" | "number">;

/**
 * "Promote…" on a succeeded run, for holders of rollouts:promote (and runs:write, which the run
 * action needs): starts a canary rollout of a service with this run's artifact.
 */
export function PromoteRunButton({ run }: { run: PromotableRun }) {
  const mayPromote = useCan("rollouts:promote");
  const mayAct = useCan("runs:write");
  const [open, setOpen] = useState(false);
  if (!mayPromote || !mayAct || run.status !== "succeeded") return null;
  return (
    <>
      <Button onClick={() => setOpen(true)}>
        <RocketIcon aria-hidden="true" /> Promote…
      </Button>
      <Dialog open={open} onOpenChange={setOpen}>
        {/* Mounted only while open: every opening starts empty. */}
        {open ? <PromoteRunForm run={run} onCancel={() => setOpen(false)} /> : null}
      </Dialog>
    </>
  );
}

const FIELDS = new Set(["service", "canaryUrl", "reason"]);

function PromoteRunForm({ run, onCancel }: { run: PromotableRun; onCancel: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  const [service, setService] = useState("");
  const [canaryUrl, setCanaryUrl] = useState("");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const title = `${run.pipelineName} #${run.number}`;
  const promote = useMutation({
    ...runsActionMutation(),
    onSuccess: (res) => {
      toast({ title: "Rollout started", description: `${title} is the canary of ${service}.`, variant: "success" });
      if (res.detail) navigate(href(`/rollouts/${res.detail}`));
      else onCancel();
    },
    onError: (e) => {
      // A 403 policy denial names `body` for each reason: those are not field errors.
      const out = serverFieldErrors(e);
      setErrors(Object.fromEntries(Object.entries(out).filter(([k]) => FIELDS.has(k))));
    },
    onSettled: () => {
      void invalidateRolloutLists(queryClient);
      void invalidateServices(queryClient);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = canaryFormErrors({ service, canaryUrl, reason }, "Choose the service this run's artifact is a new version of.");
    setErrors(local);
    if (Object.keys(local).length) return;
    promote.mutate({
      path: { run_id: run.id },
      body: { action: "promote", service, canaryUrl: canaryUrl.trim(), reason: reason.trim() },
    });
  }

  const fieldError = promote.error && Object.keys(serverFieldErrors(promote.error)).some((k) => FIELDS.has(k));
  return (
    <DialogContent className="sm:max-w-xl">
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <DialogHeader>
          <DialogTitle>Promote {title}</DialogTitle>
          <DialogDescription>
            Starts a canary rollout of the service with this run&apos;s artifact. The promote policies judge the run first; the canary
            then takes 10%, 25%, 50% and 100% of the traffic with an analysis between the steps. Recorded in the audit log.
          </DialogDescription>
        </DialogHeader>
        <ServiceSelect value={service} onChange={setService} error={errors.service} />
        <FormField label="Canary URL" error={errors.canaryUrl} hint="Where this run's build answers, e.g. http://10.0.0.6:8080.">
          {(p) => <Input {...p} type="url" inputMode="url" value={canaryUrl} onChange={(e) => setCanaryUrl(e.target.value)} autoComplete="off" />}
        </FormField>
        <FormField label="Reason (required)" error={errors.reason} hint="Recorded with the rollout in the audit log.">
          {(p) => <Textarea {...p} value={reason} onChange={(e) => setReason(e.target.value)} rows={2} aria-required="true" />}
        </FormField>
        {promote.error ? (
          <PromoteProblem error={promote.error} title={fieldError ? "Some fields need fixing" : "Could not promote the run"} />
        ) : null}
        <DialogFooter>
          <Button variant="outline" onClick={onCancel} disabled={promote.isPending}>
            Cancel
          </Button>
          <Button type="submit" disabled={promote.isPending}>
            {promote.isPending ? "Promoting…" : "Promote"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
