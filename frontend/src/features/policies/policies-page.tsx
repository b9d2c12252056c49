import { useQuery } from "@tanstack/react-query";
import { PlusIcon, ScaleIcon, ShieldCheckIcon } from "lucide-react";
import { useNavigate } from "react-router";
import { policiesListOptions } from "@/client/@tanstack/react-query.gen";
import type { PolicySummary } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { useEnvHref } from "@/lib/env";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { useOpenFromUrl } from "@/lib/url-state";
import { useCan } from "@/features/auth/session";
import { RequirePermission } from "@/features/auth/require-permission";
import { CreatePolicyDialog } from "./create-policy-dialog";
import { EnabledBadge, PointBadges } from "./policy-badges";

const columns: Column<PolicySummary>[] = [
  {
    id: "name",
    header: "Name",
    cell: (p) => (
      <span className="flex flex-wrap items-center gap-1.5">
        <EnvLink to={`/policies/${encodeURIComponent(p.id)}`} className="font-medium underline underline-offset-4 hover:no-underline">
          {p.name}
        </EnvLink>
        {p.builtin ? <Badge variant="outline">builtin</Badge> : null}
      </span>
    ),
  },
  {
    id: "description",
    header: "Description",
    cell: (p) => <span className="block max-w-md text-sm">{p.description || <span className="text-muted-foreground">—</span>}</span>,
  },
  { id: "points", header: "Points", cell: (p) => <PointBadges points={p.points} /> },
  { id: "enabled", header: "Status", cell: (p) => <EnabledBadge enabled={p.enabled} /> },
  { id: "revision", header: "Revision", className: "tabular-nums", cell: (p) => `r${p.revision}` },
  { id: "updated", header: "Updated", cell: (p) => <span className="whitespace-nowrap">{formatDateTime(p.updatedAt)}</span> },
];

function PoliciesView() {
  const mayWrite = useCan("policies:write");
  const navigate = useNavigate();
  const href = useEnvHref();
  const [creating, setCreating] = useOpenFromUrl("new");
  const list = useQuery(policiesListOptions());

  return (
    <>
      <PageHeader
        title="Policies"
        description="Rego policies that gate pipeline changes (admission), run starts and promotions. Each change of source is a new revision; every evaluation is logged as a decision."
        actions={
          <>
            <Button asChild variant="outline">
              <EnvLink to="/policies/decisions">
                <ScaleIcon aria-hidden="true" />
                Decision log
              </EnvLink>
            </Button>
            {mayWrite ? (
              <Button onClick={() => setCreating(true)}>
                <PlusIcon aria-hidden="true" />
                Create policy
              </Button>
            ) : null}
          </>
        }
      />
      <DataTable
        caption="Policies"
        columns={columns}
        rows={list.data?.items}
        rowKey={(p) => p.id}
        isPending={list.isPending}
        error={list.error}
        errorTitle="Could not load the policies"
        onRetry={() => void list.refetch()}
        empty={{
          icon: ShieldCheckIcon,
          title: "No policies yet",
          description: mayWrite
            ? "Policies are written in Rego. Create one to refuse pipeline specs, run starts or promotions that break a rule."
            : "Policies are written in Rego by someone with policies:write; none exist yet, so nothing is gated.",
          action: mayWrite ? <Button onClick={() => setCreating(true)}>Create policy</Button> : undefined,
        }}
      />
      <CreatePolicyDialog
        open={creating}
        onOpenChange={setCreating}
        onCreated={(p) => {
          setCreating(false);
          toast({ title: "Policy created", description: `${p.name} r${p.revision}`, variant: "success" });
          navigate(href(`/policies/${encodeURIComponent(p.id)}`));
        }}
      />
    </>
  );
}

export function PoliciesPage() {
  return (
    <RequirePermission anyOf={["policies:read"]} title="Policies">
      <PoliciesView />
    </RequirePermission>
  );
}

export const Component = PoliciesPage;
