import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { KeyRoundIcon, PlusIcon } from "lucide-react";
import { useState } from "react";
import { permissionsListOptions, tokensListInfiniteOptions, tokensRevokeMutation } from "@/client/@tanstack/react-query.gen";
import type { TokensCreateResponse, TokensListResponse } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { DataTable, type Column } from "@/components/data-table";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { formatDateTime, formatRelative } from "@/lib/format";
import { can, canAny } from "@/lib/permissions";
import { toast } from "@/lib/toast";
import { cursorPaging, useOpenFromUrl, useUrlFilters } from "@/lib/url-state";
import { RequirePermission } from "@/features/auth/require-permission";
import { usePermissions } from "@/features/auth/session";
import { CreateTokenDialog, type ScopeOption } from "./create-token-dialog";
import { invalidateTokens } from "./queries";
import { TokenCreatedDialog, type CreatedToken } from "./token-created-dialog";

type Token = TokensListResponse["items"][number];
const FILTERS = ["all", "focus"] as const;

function tokenStatus(t: Token): { label: string; variant: "success" | "danger" | "warning" } {
  if (t.revokedAt) return { label: "Revoked", variant: "danger" };
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now()) return { label: "Expired", variant: "warning" };
  return { label: "Active", variant: "success" };
}

/** A token may carry only permissions its owner holds (admin:* holds them all). */
function useScopeOptions(permissions: string[]): ScopeOption[] {
  const catalog = useQuery({ ...permissionsListOptions(), staleTime: 5 * 60_000 });
  const described = new Map((catalog.data?.items ?? []).map((p) => [p.name, p.description]));
  const names = new Set(permissions.filter((p) => p !== "admin:*"));
  if (can(permissions, "admin:*")) for (const p of described.keys()) names.add(p);
  // The catch-all goes last: a token rarely needs it.
  const rank = (n: string) => (n === "admin:*" ? 1 : 0);
  return [...names]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((name) => ({ name, description: described.get(name) }));
}

function TokensView() {
  const queryClient = useQueryClient();
  const permissions = usePermissions();
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const scopeOptions = useScopeOptions(permissions);
  const mayListAll = can(permissions, "admin:tokens");
  const filters = useUrlFilters(FILTERS);
  // A search result links to `?focus=<id>`; an admin's result may be someone else's token.
  const focus = filters.values.focus || null;
  const seeAll = mayListAll && (filters.values.all === "1" || focus !== null);

  const [createOpen, setCreateOpen] = useOpenFromUrl("new");

  const list = useInfiniteQuery({
    ...tokensListInfiniteOptions({ query: { limit: 50, ...(seeAll ? { all: true } : {}) } }),
    ...cursorPaging,
  });
  const rows = list.data?.pages.flatMap((p) => p.items);

  const revoke = useMutation({
    ...tokensRevokeMutation(),
    onSettled: () => invalidateTokens(queryClient),
  });

  const columns: Column<Token>[] = [
    {
      id: "name",
      header: "Name",
      cell: (t) => (
        <div className="grid">
          <span className="font-medium">{t.name}</span>
          <span className="font-mono text-xs text-muted-foreground">{t.prefix}…</span>
        </div>
      ),
    },
    ...(seeAll ? [{ id: "owner", header: "Owner", cell: (t: Token) => t.ownerUsername }] : []),
    {
      id: "scopes",
      header: "Scopes",
      cell: (t) => (
        <ul className="flex max-w-72 flex-wrap gap-1" aria-label={`Scopes of ${t.name}`}>
          {t.scopes.map((s) => (
            <li key={s}>
              <Badge variant="secondary" className="font-mono">
                {s}
              </Badge>
            </li>
          ))}
        </ul>
      ),
    },
    { id: "created", header: "Created", cell: (t) => formatDateTime(t.createdAt) },
    {
      id: "minted",
      header: "Minted by",
      cell: (t) =>
        t.parentPrefix ? (
          <span className="text-sm" title="Expires no later than this token and is revoked with it">
            token <span className="font-mono">{t.parentPrefix}</span>
          </span>
        ) : (
          <span className="text-sm text-muted-foreground">a login</span>
        ),
    },
    { id: "expires", header: "Expires", cell: (t) => (t.expiresAt ? formatDateTime(t.expiresAt) : "Never") },
    {
      id: "used",
      header: "Last used",
      cell: (t) => <span title={t.lastUsedAt ? formatDateTime(t.lastUsedAt, true) : undefined}>{formatRelative(t.lastUsedAt)}</span>,
    },
    {
      id: "status",
      header: "Status",
      cell: (t) => {
        const s = tokenStatus(t);
        return (
          <div className="grid gap-0.5">
            <Badge variant={s.variant}>{s.label}</Badge>
            {t.revokedAt ? (
              <span className="text-xs text-muted-foreground">
                {formatDateTime(t.revokedAt)}
                {t.revokedReason ? `: ${t.revokedReason}` : ""}
              </span>
            ) : null}
          </div>
        );
      },
    },
    {
      id: "actions",
      header: "Actions",
      srOnlyHeader: true,
      className: "text-right",
      cell: (t) =>
        t.revokedAt ? null : (
          <Button variant="outline" size="sm" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.name}`}>
            Revoke
          </Button>
        ),
    },
  ];

  const mayCreate = canAny(permissions, ["tokens:self", "admin:tokens"]);
  const createButton = mayCreate ? (
    <Button onClick={() => setCreateOpen(true)}>
      <PlusIcon aria-hidden="true" />
      Create token
    </Button>
  ) : null;

  return (
    <>
      <PageHeader
        title="API tokens"
        description={
          seeAll
            ? "Every user's tokens for scripts and CI. Secrets are shown once, at creation; revoke a token to cut its access immediately."
            : "Your tokens for scripts and CI. Secrets are shown once, at creation; revoke a token to cut its access immediately."
        }
        actions={createButton}
      />
      {mayListAll ? (
        <div className="flex items-center gap-2 pb-4">
          <Switch
            id="tokens-all"
            checked={seeAll}
            onCheckedChange={(on) => filters.set({ all: on ? "1" : null, focus: null })}
          />
          <Label htmlFor="tokens-all">Show every user&apos;s tokens</Label>
        </div>
      ) : null}
      <DataTable
        caption="API tokens"
        selectedKey={focus}
        columns={columns}
        rows={rows}
        rowKey={(t) => t.id}
        isPending={list.isPending}
        error={list.error}
        errorTitle="Could not load API tokens"
        onRetry={() => void list.refetch()}
        hasNextPage={list.hasNextPage}
        isFetchingNextPage={list.isFetchingNextPage}
        onLoadMore={() => void list.fetchNextPage()}
        rowClassName={(t) => (t.revokedAt ? "text-muted-foreground" : undefined)}
        empty={{
          icon: KeyRoundIcon,
          title: "No API tokens yet",
          description:
            "Create a token to call the Maestro API from scripts or CI (Authorization: Bearer <secret>). You choose its scopes and expiry.",
          action: createButton,
        }}
      />
      <CreateTokenDialog
        open={createOpen}
        onOpenChange={setCreateOpen}
        scopeOptions={scopeOptions}
        onCreated={(r: TokensCreateResponse) => {
          setCreateOpen(false);
          setCreated({ name: r.token.name, secret: r.secret });
        }}
      />
      <TokenCreatedDialog created={created} onClose={() => setCreated(null)} />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => {
          if (!open) setRevoking(null);
        }}
        title={`Revoke token “${revoking?.name ?? ""}”?`}
        description="Requests using this token are refused from now on. This cannot be undone."
        confirmLabel="Revoke token"
        destructive
        requireReason
        onConfirm={async (reason) => {
          if (!revoking) return;
          await revoke.mutateAsync({ path: { token_id: revoking.id }, body: { reason } });
          toast({ title: "Token revoked", description: `“${revoking.name}” can no longer be used.`, variant: "success" });
        }}
      />
    </>
  );
}

export function TokensPage() {
  return (
    <RequirePermission anyOf={["tokens:self", "admin:tokens"]} title="API tokens">
      <TokensView />
    </RequirePermission>
  );
}

export const Component = TokensPage;
