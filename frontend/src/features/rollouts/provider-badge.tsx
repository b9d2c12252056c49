import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";

/** The traffic provider a service names ("edge", "haproxy", …), next to the service. */
export function ProviderBadge({ provider, className }: { provider: string; className?: string }) {
  return (
    <Badge variant="secondary" className={cn("font-mono", className)} title={`Traffic provider: ${provider}`} data-testid="service-provider">
      <span className="sr-only">traffic provider </span>
      {provider}
    </Badge>
  );
}
