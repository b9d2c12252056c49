import { useInfiniteQuery } from "@tanstack/react-query";
import { SearchXIcon, UserPlusIcon, UsersIcon } from "lucide-react";
import { useNavigate } from "react-router";
import { usersListInfiniteOptions } from "@/client/@tanstack/react-query.gen";
import type { UsersListResponse } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { FilterBar } from "@/components/filter-bar";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { useEnvHref } from "@/lib/env";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { cursorPaging, definedOnly, useOpenFromUrl, useUrlFilters } from "@/lib/url-state";
import { RequirePermission } from "@/features/auth/require-permission";
import { CreateUserDialog } from "./create-user-dialog";

type User = UsersListResponse["items"][number];
const FILTERS = ["q"] as const;

function UsersView() {
  const filters = useUrlFilters(FILTERS);
  const navigate = useNavigate();
  const href = useEnvHref();

  const [createOpen, setCreateOpen] = useOpenFromUrl("new");

  const list = useInfiniteQuery({
    ...usersListInfiniteOptions({ query: { limit: 50, ...definedOnly({ q: filters.values.q }) } }),
    ...cursorPaging,
  });
  const rows = list.data?.pages.flatMap((p) => p.items);

  const columns: Column<User>[] = [
    {
      id: "username",
      header: "Username",
      cell: (u) => (
        <EnvLink to={`/admin/users/${encodeURIComponent(u.id)}`} className="font-medium underline underline-offset-4 hover:no-underline">
          {u.username}
        </EnvLink>
      ),
    },
    { id: "name", header: "Display name", cell: (u) => u.displayName },
    { id: "email", header: "Email", cell: (u) => u.email },
    {
      id: "status",
      header: "Status",
      cell: (u) => <Badge variant={u.isActive ? "success" : "warning"}>{u.isActive ? "Active" : "Deactivated"}</Badge>,
    },
    { id: "created", header: "Created", cell: (u) => formatDateTime(u.createdAt) },
    {
      id: "roles",
      header: "Role bindings",
      srOnlyHeader: true,
      className: "text-right",
      cell: (u) => (
        <Button asChild variant="outline" size="sm">
          <EnvLink to={`/admin/users/${encodeURIComponent(u.id)}`} aria-label={`Manage roles of ${u.username}`}>
            Manage roles
          </EnvLink>
        </Button>
      ),
    },
  ];

  const createButton = (
    <Button onClick={() => setCreateOpen(true)}>
      <UserPlusIcon aria-hidden="true" />
      Create user
    </Button>
  );

  return (
    <>
      <PageHeader
        title="Users & roles"
        description="People who can sign in to Maestro, and the roles bound to them at tenant, project or environment scope."
        actions={createButton}
      />
      <div className="grid grid-cols-1 gap-4">
        <FilterBar
          key={filters.signature}
          label="Filter users"
          fields={[{ key: "q", label: "Find users", type: "search", placeholder: "Username, name or email" }]}
          values={filters.values}
          onApply={(v) => filters.set(v)}
          onClear={filters.clear}
          active={filters.active}
        />
        <DataTable
          caption="Users"
          columns={columns}
          rows={rows}
          rowKey={(u) => u.id}
          isPending={list.isPending}
          error={list.error}
          errorTitle="Could not load users"
          onRetry={() => void list.refetch()}
          hasNextPage={list.hasNextPage}
          isFetchingNextPage={list.isFetchingNextPage}
          onLoadMore={() => void list.fetchNextPage()}
          filtered={filters.active}
          empty={{
            icon: UsersIcon,
            title: "No users besides the built-in ones",
            description: "Create a user, then bind a role to them so they can work in Maestro.",
            action: createButton,
          }}
          filteredEmpty={{
            icon: SearchXIcon,
            title: "No user matches this search",
            description: "Try part of the username, the display name or the email address, or clear the filter.",
            action: (
              <Button variant="outline" onClick={filters.clear}>
                Clear filters
              </Button>
            ),
          }}
        />
      </div>
      <CreateUserDialog
        open={createOpen}
        onOpenChange={setCreateOpen}
        onCreated={(u) => {
          setCreateOpen(false);
          toast({ title: "User created", description: `Now bind a role to ${u.username}.`, variant: "success" });
          navigate(href(`/admin/users/${encodeURIComponent(u.id)}`));
        }}
      />
    </>
  );
}

export function UsersPage() {
  return (
    <RequirePermission anyOf={["admin:users"]} title="Users & roles">
      <UsersView />
    </RequirePermission>
  );
}

export const Component = UsersPage;
