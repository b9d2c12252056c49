import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { policiesCreateMutation } from "@/client/@tanstack/react-query.gen";
import type { PolicyDetail } from "@/client/types.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";
import { PointsField, SourceEditor } from "./policy-fields";
import { compileErrors, EXAMPLE_POLICY, POLICY_NAME, type PolicyPoint } from "./policy-model";
import { invalidatePolicyLists, storePolicy } from "./queries";

export function CreatePolicyDialog({
  open,
  onOpenChange,
  onCreated,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onCreated: (policy: PolicyDetail) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {/* Mounted only while open: every opening starts from the example. */}
      {open ? <CreatePolicyForm onCreated={onCreated} onCancel={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

function CreatePolicyForm({ onCreated, onCancel }: { onCreated: (policy: PolicyDetail) => void; onCancel: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [points, setPoints] = useState<PolicyPoint[]>(["admission"]);
  const [source, setSource] = useState(EXAMPLE_POLICY);
  const [enabled, setEnabled] = useState(true);
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    ...policiesCreateMutation(),
    onSuccess: (policy) => {
      storePolicy(queryClient, policy);
      onCreated(policy);
    },
    onError: (error) => setErrors(serverFieldErrors(error)),
    onSettled: () => invalidatePolicyLists(queryClient),
  });
  const sourceErrors = compileErrors(create.error);

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: FieldErrors = {};
    const n = name.trim();
    if (!n) local.name = "Give the policy a name, e.g. “no-curl-pipe-sh”.";
    else if (!POLICY_NAME.test(n)) local.name = "Use lowercase letters, digits and dashes (up to 63), starting with a letter or digit.";
    if (!points.length) local.points = "Choose at least one point where the policy is evaluated.";
    if (!source.trim()) local.source = "Write the policy's Rego source.";
    setErrors(local);
    if (Object.keys(local).length) return;
    create.mutate({ body: { name: n, description: description.trim(), points, source, enabled } });
  }

  const otherError = create.error && !sourceErrors.length && !Object.keys(serverFieldErrors(create.error)).some((k) => k !== "source");
  return (
    <DialogContent className="sm:max-w-3xl">
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <DialogHeader>
          <DialogTitle>Create policy</DialogTitle>
          <DialogDescription>
            A Rego policy (rego.v1) whose <code className="font-mono">deny</code> messages refuse what it judges. It is compiled when you
            create it; it applies from its first evaluation if enabled.
          </DialogDescription>
        </DialogHeader>
        <FormField label="Name" error={errors.name} hint="Lowercase letters, digits and dashes, e.g. “no-curl-pipe-sh”.">
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </FormField>
        <FormField label="Description" error={errors.description} hint="What the policy refuses and why (optional).">
          {(p) => <Input {...p} value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />}
        </FormField>
        <PointsField value={points} onChange={setPoints} error={errors.points} />
        <SourceEditor
          value={source}
          onChange={setSource}
          errors={sourceErrors.length ? sourceErrors : errors.source ? [{ line: null, column: null, message: errors.source }] : []}
        />
        <div className="flex items-center gap-2">
          <Switch id="create-policy-enabled" checked={enabled} onCheckedChange={setEnabled} />
          <Label htmlFor="create-policy-enabled">Enabled (evaluated from now on)</Label>
        </div>
        {otherError ? <ErrorState error={create.error} title="Could not create the policy" compact /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create policy"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
