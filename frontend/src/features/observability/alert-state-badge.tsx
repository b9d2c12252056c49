import { Badge } from "@/components/ui/badge";

export function AlertStateBadge({ state }: { state: string }) {
  return <Badge variant={state === "firing" ? "danger" : "success"}>{state}</Badge>;
}
