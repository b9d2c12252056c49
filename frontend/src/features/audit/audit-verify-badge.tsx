import { useQuery } from "@tanstack/react-query";
import { RotateCwIcon, ShieldAlertIcon, ShieldCheckIcon, ShieldQuestionIcon } from "lucide-react";
import { auditVerifyOptions } from "@/client/@tanstack/react-query.gen";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { asProblem } from "@/lib/api-error";

/** The hash chain's verification status (GET /api/audit/verify), re-checked on demand and on new events. */
export function AuditVerifyBadge() {
  const { data, error, isFetching, refetch } = useQuery({ ...auditVerifyOptions(), staleTime: 0 });
  let badge;
  if (error) {
    badge = (
      <Badge variant="warning" title={asProblem(error).detail}>
        <ShieldQuestionIcon aria-hidden="true" /> Verification unavailable
      </Badge>
    );
  } else if (!data) {
    badge = (
      <Badge variant="outline">
        <ShieldQuestionIcon aria-hidden="true" /> Verifying chain…
      </Badge>
    );
  } else if (data.ok) {
    badge = (
      <Badge variant="success">
        <ShieldCheckIcon aria-hidden="true" /> Chain verified · {data.checked} events
      </Badge>
    );
  } else {
    badge = (
      <Badge variant="danger">
        <ShieldAlertIcon aria-hidden="true" /> Chain broken at #{data.firstBrokenSeq ?? "?"}
        {data.reason ? `: ${data.reason}` : ""}
      </Badge>
    );
  }
  return (
    <div className="flex items-center gap-2">
      <span role="status">{badge}</span>
      <Button variant="outline" size="sm" onClick={() => void refetch()} disabled={isFetching}>
        <RotateCwIcon aria-hidden="true" className={isFetching ? "animate-spin" : undefined} />
        {isFetching ? "Verifying…" : "Verify again"}
      </Button>
    </div>
  );
}
