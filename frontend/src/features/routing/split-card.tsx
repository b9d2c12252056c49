import { useQuery } from "@tanstack/react-query";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { candidateKey, formatPercent, trafficWindow, type RoutingClass } from "./model";
import { requestsQueryOptions } from "./queries";
import { ShareBar } from "./score-bar";

/** The request-log window the split is measured over (the traffic panel's default: one shared query). */
const WINDOW = 200;

/** The A/B split a class asks for, next to the share each candidate got in the newest requests. */
export function SplitCard({ cls }: { cls: RoutingClass }) {
  const split = cls.candidates.some((c) => (c.weight ?? 0) > 0);
  const q = useQuery({ ...requestsQueryOptions(WINDOW, cls.name), enabled: split });
  if (!split) return null;
  const win = trafficWindow(q.data?.items ?? []);
  const live = new Map(win.candidates.map((c) => [c.key, c.share]));
  return (
    <Card aria-labelledby="split-title">
      <CardHeader>
        <CardTitle id="split-title">A/B split</CardTitle>
        <CardDescription>
          Target share against the share of the newest {win.requests} request{win.requests === 1 ? "" : "s"} of the class
          {cls.sticky ? `; the ${cls.sticky} header keeps a user on one side` : ""}.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <table className="w-full text-sm">
          <caption className="sr-only">A/B split of {cls.name}: target and live share per candidate</caption>
          <thead>
            <tr className="text-left text-xs text-muted-foreground">
              <th scope="col" className="py-1 font-medium">Candidate</th>
              <th scope="col" className="py-1 font-medium">Target</th>
              <th scope="col" className="py-1 font-medium">Live</th>
            </tr>
          </thead>
          <tbody>
            {cls.candidates.map((c) => {
              const key = candidateKey(c);
              const share = live.get(key) ?? 0;
              return (
                <tr key={key} data-testid="split-row" data-candidate={key}>
                  <td className="py-1 font-mono">{key}</td>
                  <td className="py-1 tabular-nums">{c.weight ?? 0}%</td>
                  <td className="py-1">
                    <span className="inline-flex items-center gap-2 tabular-nums">
                      <ShareBar share={share} label={`Live share of ${key}`} />
                      {win.requests ? formatPercent(share) : "no requests yet"}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </CardContent>
    </Card>
  );
}
