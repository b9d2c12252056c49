import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { tokensCreateMutation } from "@/client/@tanstack/react-query.gen";
import type { TokensCreateResponse } from "@/client/types.gen";
import { zTokensCreateBody } from "@/client/zod.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { serverFieldErrors, validate, type FieldErrors } from "@/lib/form";
import { invalidateTokens } from "./queries";

export interface ScopeOption {
  name: string;
  description?: string;
}

const EXPIRY = [
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "never", label: "Never (not recommended)" },
];

export function CreateTokenDialog({
  open,
  onOpenChange,
  scopeOptions,
  onCreated,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** Scopes a token may carry: at most the caller's own permissions. */
  scopeOptions: ScopeOption[];
  onCreated: (created: TokensCreateResponse) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <CreateTokenForm scopeOptions={scopeOptions} onCreated={onCreated} onCancel={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

function CreateTokenForm({
  scopeOptions,
  onCreated,
  onCancel,
}: {
  scopeOptions: ScopeOption[];
  onCreated: (created: TokensCreateResponse) => void;
  onCancel: () => void;
}) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [expiry, setExpiry] = useState("90");
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    ...tokensCreateMutation(),
    onSuccess: (created) => onCreated(created),
    onError: (error) => setErrors(serverFieldErrors(error)),
    onSettled: () => invalidateTokens(queryClient),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const body = { name: name.trim(), scopes, expiresInDays: expiry === "never" ? null : Number(expiry) };
    const local: FieldErrors = {};
    if (!body.name) local.name = "Give the token a name that says where it is used.";
    if (!body.scopes.length) local.scopes = "Choose at least one scope.";
    const { data, errors: schemaErrors } = validate(zTokensCreateBody, body);
    const all = { ...schemaErrors, ...local };
    setErrors(all);
    if (!data || Object.keys(all).length) return;
    create.mutate({ body: data });
  }

  return (
    <DialogContent>
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <DialogHeader>
          <DialogTitle>Create an API token</DialogTitle>
          <DialogDescription>
            For scripts and CI. A token acts as you, limited to the scopes you choose here.
          </DialogDescription>
        </DialogHeader>
        <FormField label="Name" error={errors.name} hint="e.g. “ci-deploy” or “laptop-cli”.">
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </FormField>
        <fieldset className="grid gap-2" aria-describedby={errors.scopes ? "scopes-error" : undefined}>
          <legend className="mb-1 text-sm font-medium">Scopes</legend>
          {scopeOptions.length ? (
            <div className="grid max-h-56 gap-3 overflow-y-auto rounded-md border p-3">
              {scopeOptions.map(({ name: s, description }) => {
                const id = `scope-${s.replace(/[^a-z0-9]/gi, "-")}`;
                return (
                  <div key={s} className="flex items-start gap-2">
                    <Checkbox
                      id={id}
                      className="mt-0.5"
                      checked={scopes.includes(s)}
                      aria-describedby={description ? `${id}-desc` : undefined}
                      onCheckedChange={(c) => setScopes((prev) => (c === true ? [...prev, s] : prev.filter((x) => x !== s)))}
                    />
                    <div className="grid gap-0.5">
                      <label htmlFor={id} className="font-mono text-sm">
                        {s}
                      </label>
                      {description ? (
                        <span id={`${id}-desc`} className="text-xs text-muted-foreground">
                          {description}
                        </span>
                      ) : null}
                    </div>
                  </div>
                );
              })}
            </div>
          ) : (
            <p className="text-sm text-muted-foreground">You hold no permissions a token could carry.</p>
          )}
          {errors.scopes ? (
            <p id="scopes-error" className="text-sm text-danger">
              {errors.scopes}
            </p>
          ) : null}
        </fieldset>
        <FormField label="Expires after" error={errors.expiresInDays}>
          {(p) => (
            <Select value={expiry} onValueChange={setExpiry}>
              <SelectTrigger id={p.id} aria-describedby={p["aria-describedby"]} aria-invalid={p["aria-invalid"]}>
                <SelectValue />
              </SelectTrigger>
              <SelectContent>
                {EXPIRY.map((o) => (
                  <SelectItem key={o.value} value={o.value}>
                    {o.label}
                  </SelectItem>
                ))}
              </SelectContent>
            </Select>
          )}
        </FormField>
        {create.error && !Object.keys(serverFieldErrors(create.error)).length ? (
          <ErrorState error={create.error} title="Could not create the token" compact />
        ) : null}
        <DialogFooter>
          <Button variant="outline" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create token"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
