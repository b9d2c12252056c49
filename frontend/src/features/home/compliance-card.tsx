import type { Compliance } from "@/client/types.gen";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { cn } from "@/lib/utils";
import { useCan } from "@/features/auth/session";
import { FigureSkeletons, FigureTiles } from "./figure-tiles";
import { complianceFigures } from "./hub-model";

const GRID = "grid-cols-1 sm:grid-cols-2";

/** Provenance, signatures, SBOM diffs, policy denials and evidence bundles: data-testid compliance-<name>. */
export function ComplianceCard({ compliance, className }: { compliance: Compliance | undefined; className?: string }) {
  const mayReadPolicies = useCan("policies:read");
  const figures = compliance
    ? complianceFigures(compliance).map((f) => (f.href && !mayReadPolicies ? { ...f, href: undefined, linkLabel: undefined } : f))
    : null;
  return (
    <Card aria-labelledby="hub-compliance-title" data-testid="hub-compliance" className={cn(className)}>
      <CardHeader>
        <CardTitle id="hub-compliance-title">Compliance at a glance</CardTitle>
        <CardDescription>Supply-chain evidence from runs, attestations and policy decisions.</CardDescription>
      </CardHeader>
      <CardContent>
        {figures ? (
          <FigureTiles figures={figures} testIdPrefix="compliance" className={GRID} />
        ) : (
          <FigureSkeletons count={5} label="compliance figures" className={GRID} />
        )}
      </CardContent>
    </Card>
  );
}
