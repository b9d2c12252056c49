import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { sloCreateMutation } from "@/client/@tanstack/react-query.gen";
import { zSloCreateBody } from "@/client/zod.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { NativeSelect } from "@/components/ui/native-select";
import { Textarea } from "@/components/ui/textarea";
import { serverFieldErrors, validate, type FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { objectiveFromPercent, SLI_KINDS, type SliKind } from "./format";
import { invalidateSlos } from "./queries";

export function DefineSloDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <DefineSloForm onDone={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

function DefineSloForm({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [sli, setSli] = useState<SliKind>("run_success");
  const [objective, setObjective] = useState("99");
  const [windowDays, setWindowDays] = useState("30");
  const [thresholdMs, setThresholdMs] = useState("");
  const [pipeline, setPipeline] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    ...sloCreateMutation(),
    onSuccess: (slo) => {
      toast({ title: "SLO defined", description: `${slo.name} is evaluated from now on.`, variant: "success" });
      onDone();
    },
    onError: (error) => setErrors(serverFieldErrors(error)),
    onSettled: () => invalidateSlos(queryClient),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const ratio = objectiveFromPercent(objective);
    const local: FieldErrors = {};
    if (!name.trim()) local.name = "Name the SLO after what users experience, e.g. “Deploys succeed”.";
    if (ratio === null || !(ratio > 0 && ratio < 1)) local.objective = "Give a percentage strictly between 0 and 100, e.g. 99.5.";
    const days = Number(windowDays);
    if (!Number.isInteger(days) || days < 1 || days > 90) local.windowDays = "A whole number of days from 1 to 90.";
    const threshold = thresholdMs.trim() ? Number(thresholdMs) : null;
    if (sli === "run_duration" && (threshold === null || !Number.isInteger(threshold) || threshold < 1)) {
      local.thresholdMs = "Run-duration SLOs need a threshold in whole milliseconds (1 or more).";
    }
    const body = {
      name: name.trim(),
      description: description.trim(),
      sli,
      objective: ratio ?? 0,
      windowDays: days,
      thresholdMs: sli === "run_duration" ? threshold : null,
      pipeline: sli !== "availability" && pipeline.trim() ? pipeline.trim() : null,
    };
    const { data, errors: schemaErrors } = validate(zSloCreateBody, body);
    const all = { ...schemaErrors, ...local };
    setErrors(all);
    if (!data || Object.keys(all).length) return;
    create.mutate({ body: data });
  }

  const serverErrors = serverFieldErrors(create.error);
  return (
    <DialogContent>
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <DialogHeader>
          <DialogTitle>Define an SLO</DialogTitle>
          <DialogDescription>
            A target share of good events over a rolling window. Burn-rate alerts fire when the error budget is spent too fast.
          </DialogDescription>
        </DialogHeader>
        <FormField label="Name" error={errors.name}>
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </FormField>
        <FormField label="Description" error={errors.description} hint="Optional: who relies on it and why.">
          {(p) => <Textarea {...p} value={description} onChange={(e) => setDescription(e.target.value)} rows={2} />}
        </FormField>
        <FormField label="What is measured (SLI)" error={errors.sli}>
          {(p) => (
            <NativeSelect {...p} value={sli} onChange={(e) => setSli(e.target.value as SliKind)}>
              {SLI_KINDS.map((k) => (
                <option key={k.value} value={k.value}>
                  {k.label}
                </option>
              ))}
            </NativeSelect>
          )}
        </FormField>
        <div className="grid gap-4 sm:grid-cols-2">
          <FormField label="Objective (%)" error={errors.objective} hint="e.g. 99.5 (strictly between 0 and 100).">
            {(p) => <Input {...p} inputMode="decimal" value={objective} onChange={(e) => setObjective(e.target.value)} />}
          </FormField>
          <FormField label="Window (days)" error={errors.windowDays}>
            {(p) => <Input {...p} inputMode="numeric" value={windowDays} onChange={(e) => setWindowDays(e.target.value)} />}
          </FormField>
        </div>
        {sli === "run_duration" ? (
          <FormField label="Threshold (ms)" error={errors.thresholdMs} hint="A good run finishes within this.">
            {(p) => <Input {...p} inputMode="numeric" value={thresholdMs} onChange={(e) => setThresholdMs(e.target.value)} />}
          </FormField>
        ) : null}
        {sli !== "availability" ? (
          <FormField label="Pipeline" error={errors.pipeline} hint="Optional: only this pipeline's runs.">
            {(p) => <Input {...p} value={pipeline} onChange={(e) => setPipeline(e.target.value)} autoComplete="off" />}
          </FormField>
        ) : null}
        {create.error && !Object.keys(serverErrors).some((k) => k in FIELD_NAMES) ? (
          <ErrorState error={create.error} title="Could not define the SLO" compact />
        ) : null}
        <DialogFooter>
          <Button variant="outline" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Saving…" : "Define SLO"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}

const FIELD_NAMES = { name: 1, description: 1, sli: 1, objective: 1, windowDays: 1, thresholdMs: 1, pipeline: 1 } as const;
