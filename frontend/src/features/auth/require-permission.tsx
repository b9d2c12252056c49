import { LockIcon } from "lucide-react";
import type { ReactNode } from "react";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { canAny, type Permission } from "@/lib/permissions";
import { usePermissions } from "./session";

/** A page body for callers holding one of `anyOf`; others get a clear, non-broken explanation. */
export function RequirePermission({ anyOf, title, children }: { anyOf: Permission[]; title: string; children: ReactNode }) {
  const permissions = usePermissions();
  if (canAny(permissions, anyOf)) return children;
  return (
    <>
      <PageHeader title={title} />
      <EmptyState
        icon={LockIcon}
        title="You do not have access to this page"
        description={
          <>
            It needs one of these permissions: <span className="font-mono">{anyOf.join(", ")}</span>. Ask a Maestro admin
            for a role binding that grants it.
          </>
        }
      />
    </>
  );
}
