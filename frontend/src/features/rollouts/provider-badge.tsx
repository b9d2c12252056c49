import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";

/**
 * The traffic provider a service names ("edge", "haproxy", …). Next to a service it says what it
 * is to screen readers ("traffic provider haproxy"); under a "Traffic provider" label (`labelled`)
 * it is just the name, so the label is not read twice.
 */
export function ProviderBadge({ provider, labelled = false, className }: { provider: string; labelled?: boolean; className?: string }) {
  return (
    <Badge variant="secondary" className={cn("font-mono", className)} data-testid="service-provider">
      {labelled ? null : <span className="sr-only">traffic provider </span>}
      {provider}
    </Badge>
  );
}
