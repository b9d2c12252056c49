import { Badge } from "@/components/ui/badge";
import { pointLabel } from "./policy-model";

export function PointBadges({ points }: { points: readonly string[] }) {
  if (!points.length) return <span className="text-muted-foreground">none</span>;
  return (
    <ul className="flex flex-wrap gap-1" aria-label="Evaluated at">
      {points.map((p) => (
        <li key={p}>
          <Badge variant="secondary">{pointLabel(p)}</Badge>
        </li>
      ))}
    </ul>
  );
}

export function EnabledBadge({ enabled }: { enabled: boolean }) {
  return enabled ? <Badge variant="success">enabled</Badge> : <Badge variant="outline">disabled</Badge>;
}
