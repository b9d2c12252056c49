import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeftIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { usersGetOptions, usersUpdateMutation } from "@/client/@tanstack/react-query.gen";
import type { UsersGetResponse } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime } from "@/lib/format";
import { toast, toastError } from "@/lib/toast";
import { RequirePermission } from "@/features/auth/require-permission";
import { useSession } from "@/features/auth/session";
import { invalidateUsers } from "./queries";
import { RoleBindingsCard } from "./role-bindings-card";

function ProfileCard({ user }: { user: UsersGetResponse }) {
  const queryClient = useQueryClient();
  const { data: session } = useSession();
  const [displayName, setDisplayName] = useState(user.displayName);
  const [email, setEmail] = useState(user.email);
  const [confirmActive, setConfirmActive] = useState(false);
  const update = useMutation({ ...usersUpdateMutation(), onSettled: () => invalidateUsers(queryClient) });
  const isSelf = session?.user.id === user.id;
  const dirty = displayName !== user.displayName || email !== user.email;

  function save(e: FormEvent) {
    e.preventDefault();
    update.mutate(
      { path: { user_id: user.id }, body: { displayName: displayName.trim(), email: email.trim() } },
      {
        onSuccess: () => toast({ title: "Profile saved", variant: "success" }),
        onError: (err) => toastError(err, "Could not save the profile"),
      },
    );
  }

  return (
    <Card>
      <CardHeader>
        <CardTitle>Profile</CardTitle>
        <CardDescription>
          Created {formatDateTime(user.createdAt)} · id <span className="font-mono">{user.id}</span>
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        <form onSubmit={save} className="grid max-w-md gap-4" aria-label="Edit profile">
          <FormField label="Display name">
            {(p) => <Input {...p} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />}
          </FormField>
          <FormField label="Email">
            {(p) => <Input {...p} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
          </FormField>
          <div>
            <Button type="submit" disabled={!dirty || update.isPending}>
              {update.isPending ? "Saving…" : "Save profile"}
            </Button>
          </div>
        </form>
        <div className="flex flex-wrap items-center gap-3 border-t pt-4">
          <span className="text-sm font-medium">Sign-in</span>
          <Badge variant={user.isActive ? "success" : "warning"}>{user.isActive ? "Active" : "Deactivated"}</Badge>
          <Button
            variant={user.isActive ? "outline" : "default"}
            size="sm"
            disabled={isSelf}
            onClick={() => setConfirmActive(true)}
          >
            {user.isActive ? "Deactivate user" : "Reactivate user"}
          </Button>
          {isSelf ? <span className="text-sm text-muted-foreground">You cannot deactivate yourself.</span> : null}
        </div>
      </CardContent>
      <ConfirmDialog
        open={confirmActive}
        onOpenChange={setConfirmActive}
        title={user.isActive ? `Deactivate ${user.username}?` : `Reactivate ${user.username}?`}
        description={
          user.isActive
            ? "They can no longer sign in and their sessions and API tokens stop working. Their history stays."
            : "They can sign in again with their existing password and role bindings."
        }
        confirmLabel={user.isActive ? "Deactivate" : "Reactivate"}
        destructive={user.isActive}
        onConfirm={async () => {
          await update.mutateAsync({ path: { user_id: user.id }, body: { isActive: !user.isActive } });
          toast({ title: user.isActive ? "User deactivated" : "User reactivated", variant: "success" });
        }}
      />
    </Card>
  );
}

function UserDetail() {
  const { userId = "" } = useParams();
  const user = useQuery(usersGetOptions({ path: { user_id: userId } }));
  const back = (
    <Button asChild variant="ghost" size="sm">
      <EnvLink to="/admin/users">
        <ArrowLeftIcon aria-hidden="true" /> All users
      </EnvLink>
    </Button>
  );
  if (user.isPending) {
    return (
      <>
        <PageHeader title="User" actions={back} />
        <div className="grid gap-4" aria-busy="true">
          <Skeleton className="h-40 w-full" />
          <Skeleton className="h-40 w-full" />
        </div>
      </>
    );
  }
  if (user.error) {
    return (
      <>
        <PageHeader title="User" actions={back} />
        <ErrorState error={user.error} title="Could not load this user" onRetry={() => void user.refetch()} />
      </>
    );
  }
  const u = user.data;
  return (
    <>
      <PageHeader title={u.displayName || u.username} description={[u.username, u.email].filter(Boolean).join(" · ")} actions={back} />
      <div className="grid grid-cols-1 gap-6">
        {/* Keyed by the saved values so the form resets when the user changes elsewhere. */}
        <ProfileCard key={`${u.id}:${u.displayName}:${u.email}`} user={u} />
        <RoleBindingsCard userId={u.id} username={u.username} />
      </div>
    </>
  );
}

export function UserDetailPage() {
  return (
    <RequirePermission anyOf={["admin:users"]} title="User">
      <UserDetail />
    </RequirePermission>
  );
}

export const Component = UserDetailPage;
