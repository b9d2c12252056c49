import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { PlusIcon, ShieldIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import {
  usersRoleBindingsCreateMutation,
  roleBindingsDeleteMutation,
  usersRoleBindingsListOptions,
  rolesListOptions,
  scopesListOptions,
} from "@/client/@tanstack/react-query.gen";
import type { UsersRoleBindingsListResponse, ScopesListResponse } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { DataTable, type Column } from "@/components/data-table";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Select, SelectContent, SelectGroup, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { zUsersRoleBindingsCreateBody } from "@/client/zod.gen";
import { formatDateTime } from "@/lib/format";
import { validate } from "@/lib/form";
import { toast } from "@/lib/toast";
import { invalidateBindings } from "./queries";

type Binding = UsersRoleBindingsListResponse["items"][number];
type Scope = ScopesListResponse["items"][number];

const scopeKey = (s: { scopeType: string; scopeId: string }) => `${s.scopeType}:${s.scopeId}`;
const SCOPE_LABEL: Record<string, string> = { tenant: "Tenant", project: "Project", environment: "Environment" };

function AddBindingForm({ userId, username }: { userId: string; username: string }) {
  const queryClient = useQueryClient();
  const roles = useQuery({ ...rolesListOptions(), staleTime: 5 * 60_000 });
  const scopes = useQuery({ ...scopesListOptions(), staleTime: 60_000 });
  const [role, setRole] = useState("");
  const [scope, setScope] = useState("");
  const [missing, setMissing] = useState<{ role?: string; scope?: string }>({});
  const create = useMutation({
    ...usersRoleBindingsCreateMutation(),
    onSuccess: (b) => {
      toast({ title: "Role bound", description: `${username} is now ${b.role} on ${b.scopeName}.`, variant: "success" });
      setRole("");
    },
    onSettled: () => invalidateBindings(queryClient),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const chosen = scopes.data?.items.find((s) => scopeKey(s) === scope);
    const m = { role: role ? undefined : "Choose a role.", scope: chosen ? undefined : "Choose where the role applies." };
    setMissing(m);
    if (!chosen || !role) return;
    const { data: body, errors } = validate(zUsersRoleBindingsCreateBody, { role, scopeType: chosen.scopeType, scopeId: chosen.scopeId });
    if (!body) {
      setMissing({ scope: Object.values(errors)[0] ?? "This scope cannot take a role binding." });
      return;
    }
    create.mutate({ path: { user_id: userId }, body });
  }

  const grouped = new Map<string, Scope[]>();
  for (const s of scopes.data?.items ?? []) grouped.set(s.scopeType, [...(grouped.get(s.scopeType) ?? []), s]);

  if (roles.error || scopes.error) {
    return <ErrorState error={roles.error ?? scopes.error} title="Cannot offer roles and scopes" compact />;
  }
  return (
    <form onSubmit={submit} className="grid gap-3 rounded-lg border p-4" aria-label={`Bind a role to ${username}`} noValidate>
      <h3 className="text-sm font-semibold">Bind a role</h3>
      <div className="flex flex-wrap items-start gap-3">
        <div className="w-56">
          <FormField label="Role" error={missing.role}>
            {(p) => (
              <Select value={role} onValueChange={setRole} disabled={roles.isPending}>
                <SelectTrigger id={p.id} aria-invalid={p["aria-invalid"]} aria-describedby={p["aria-describedby"]}>
                  <SelectValue placeholder={roles.isPending ? "Loading roles…" : "Choose a role"} />
                </SelectTrigger>
                <SelectContent>
                  {roles.data?.items.map((r) => (
                    <SelectItem key={r.name} value={r.name}>
                      {r.name}
                    </SelectItem>
                  ))}
                </SelectContent>
              </Select>
            )}
          </FormField>
        </div>
        <div className="w-72">
          <FormField label="Scope" error={missing.scope}>
            {(p) => (
              <Select value={scope} onValueChange={setScope} disabled={scopes.isPending}>
                <SelectTrigger id={p.id} aria-invalid={p["aria-invalid"]} aria-describedby={p["aria-describedby"]}>
                  <SelectValue placeholder={scopes.isPending ? "Loading scopes…" : "Where it applies"} />
                </SelectTrigger>
                <SelectContent>
                  {[...grouped.entries()].map(([type, items]) => (
                    <SelectGroup key={type}>
                      {items.map((s) => (
                        <SelectItem key={scopeKey(s)} value={scopeKey(s)}>
                          {SCOPE_LABEL[type] ?? type}: {s.name}
                        </SelectItem>
                      ))}
                    </SelectGroup>
                  ))}
                </SelectContent>
              </Select>
            )}
          </FormField>
        </div>
        <div className="pt-6">
          <Button type="submit" disabled={create.isPending}>
            <PlusIcon aria-hidden="true" />
            {create.isPending ? "Binding…" : "Bind role"}
          </Button>
        </div>
      </div>
      {roles.data ? (
        <p className="text-sm text-muted-foreground">
          {role
            ? `${role} grants: ${roles.data.items.find((r) => r.name === role)?.permissions.join(", ") || "nothing"}.`
            : "Each role is a set of permissions; the scope limits where they apply."}
        </p>
      ) : null}
      {create.error ? <ErrorState error={create.error} title="Could not bind the role" compact /> : null}
    </form>
  );
}

export function RoleBindingsCard({ userId, username }: { userId: string; username: string }) {
  const queryClient = useQueryClient();
  const list = useQuery(usersRoleBindingsListOptions({ path: { user_id: userId } }));
  const [removing, setRemoving] = useState<Binding | null>(null);
  const remove = useMutation({
    ...roleBindingsDeleteMutation(),
    onSettled: () => invalidateBindings(queryClient),
  });

  const columns: Column<Binding>[] = [
    { id: "role", header: "Role", cell: (b) => <span className="font-medium">{b.role}</span> },
    {
      id: "scope",
      header: "Scope",
      cell: (b) => (
        <span className="flex items-center gap-2">
          <Badge variant="outline">{SCOPE_LABEL[b.scopeType] ?? b.scopeType}</Badge>
          {b.scopeName}
        </span>
      ),
    },
    { id: "created", header: "Bound", cell: (b) => formatDateTime(b.createdAt) },
    {
      id: "actions",
      header: "Actions",
      srOnlyHeader: true,
      className: "text-right",
      cell: (b) => (
        <Button variant="outline" size="sm" onClick={() => setRemoving(b)} aria-label={`Remove role ${b.role} on ${b.scopeName}`}>
          Remove
        </Button>
      ),
    },
  ];

  return (
    <Card>
      <CardHeader>
        <CardTitle>Role bindings</CardTitle>
        <CardDescription>What {username} may do, and where. Permissions are the union of all bindings.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <DataTable
          caption={`Role bindings of ${username}`}
          columns={columns}
          rows={list.data?.items}
          rowKey={(b) => b.id}
          isPending={list.isPending}
          error={list.error}
          errorTitle="Could not load role bindings"
          onRetry={() => void list.refetch()}
          skeletonRows={2}
          empty={{
            icon: ShieldIcon,
            title: "No roles bound",
            description: `${username} can sign in but do nothing yet. Bind a role below (viewer is a safe start).`,
          }}
        />
        <AddBindingForm userId={userId} username={username} />
      </CardContent>
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => {
          if (!open) setRemoving(null);
        }}
        title={`Remove ${removing?.role ?? ""} on ${removing?.scopeName ?? ""}?`}
        description={`${username} loses the permissions of this binding immediately (other bindings still apply).`}
        confirmLabel="Remove binding"
        destructive
        requireReason
        reasonHint="Say why, for whoever reviews access later."
        onConfirm={async (reason) => {
          if (!removing) return;
          await remove.mutateAsync({ path: { binding_id: removing.id }, query: { reason } });
          toast({ title: "Role binding removed", description: `${removing.role} on ${removing.scopeName}.`, variant: "success" });
        }}
      />
    </Card>
  );
}
