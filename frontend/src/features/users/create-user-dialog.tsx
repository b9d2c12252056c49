import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { usersCreateMutation } from "@/client/@tanstack/react-query.gen";
import type { UsersCreateResponse } from "@/client/types.gen";
import { zUsersCreateBody } from "@/client/zod.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { serverFieldErrors, validate, type FieldErrors } from "@/lib/form";
import { invalidateUsers } from "./queries";

export function CreateUserDialog({
  open,
  onOpenChange,
  onCreated,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onCreated: (user: UsersCreateResponse) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <CreateUserForm onCreated={onCreated} onCancel={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

function CreateUserForm({ onCreated, onCancel }: { onCreated: (user: UsersCreateResponse) => void; onCancel: () => void }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ username: "", displayName: "", email: "", password: "" });
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    ...usersCreateMutation(),
    onSuccess: onCreated,
    onError: (error) => setErrors(serverFieldErrors(error)),
    onSettled: () => invalidateUsers(queryClient),
  });
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm((f) => ({ ...f, [k]: e.target.value }));

  function submit(e: FormEvent) {
    e.preventDefault();
    const body = { ...form, username: form.username.trim(), displayName: form.displayName.trim(), email: form.email.trim() };
    // The generated schema holds the API's rules; the messages here only say them in plain words.
    const { data, errors: schemaErrors } = validate(zUsersCreateBody, body);
    const friendly: FieldErrors = {
      username: "Use 2–63 lowercase letters, digits, “.”, “_” or “-”, starting with a letter or digit.",
      email: "Enter a valid email address, or leave it empty.",
      password: "Use at least 12 characters.",
    };
    const all: FieldErrors = {};
    for (const k of Object.keys(schemaErrors)) all[k] = friendly[k] ?? schemaErrors[k];
    if (!body.username) all.username = "Choose a username.";
    setErrors(all);
    if (!data || Object.keys(all).length) return;
    create.mutate({ body: data });
  }

  return (
    <DialogContent>
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <DialogHeader>
          <DialogTitle>Create a user</DialogTitle>
          <DialogDescription>The new user has no permissions until you bind a role to them.</DialogDescription>
        </DialogHeader>
        <FormField label="Username" error={errors.username} hint="Lowercase letters, digits, “.”, “_” and “-”.">
          {(p) => <Input {...p} value={form.username} onChange={set("username")} autoComplete="off" autoCapitalize="none" />}
        </FormField>
        <FormField label="Display name (optional)" error={errors.displayName}>
          {(p) => <Input {...p} value={form.displayName} onChange={set("displayName")} autoComplete="off" />}
        </FormField>
        <FormField label="Email (optional)" error={errors.email}>
          {(p) => <Input {...p} type="email" value={form.email} onChange={set("email")} autoComplete="off" />}
        </FormField>
        <FormField label="Initial password" error={errors.password} hint="At least 12 characters; share it over a safe channel.">
          {(p) => <Input {...p} type="password" value={form.password} onChange={set("password")} autoComplete="new-password" />}
        </FormField>
        {create.error && !Object.keys(serverFieldErrors(create.error)).length ? (
          <ErrorState error={create.error} title="Could not create the user" compact />
        ) : null}
        <DialogFooter>
          <Button variant="outline" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create user"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
