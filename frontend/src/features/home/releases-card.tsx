import { ArrowRightIcon, LockIcon, RocketIcon } from "lucide-react";
import { useState } from "react";
import type { Release } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { Badge } from "@/components/ui/badge";
import { Button, type ButtonProps } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { useCurrentEnv } from "@/lib/env";
import { cn } from "@/lib/utils";
import { useCan } from "@/features/auth/session";
import { CONTROLS, inEnv } from "@/features/rollouts/model";
import { CONTROL_ICONS, useRolloutAction } from "@/features/rollouts/rollout-action";
import { RolloutActionDialog } from "@/features/rollouts/rollout-controls";
import { RolloutStatusBadge } from "@/features/rollouts/rollout-status-badge";
import { WeightBar } from "@/features/rollouts/weight-bar";
import {
  formatErrorRate,
  formatRequests,
  healthVariant,
  isErrorRateHigh,
  releaseActions,
  releaseKey,
  type HubAction,
} from "./hub-model";
import { invalidateHub } from "./queries";

const VARIANTS: Record<HubAction, ButtonProps["variant"]> = {
  pause: "outline",
  resume: "outline",
  promote: "outline",
  rollback: "destructive",
  abort: "outline",
};

const LINK = "underline underline-offset-4 hover:no-underline";

function Traffic({ rate, requests, side }: { rate: number | null; requests: number; side: "canary" | "stable" }) {
  const high = isErrorRateHigh(rate);
  return (
    <span className="grid gap-0.5 whitespace-nowrap" data-side={side}>
      <span className={cn("tabular-nums", high ? "font-medium text-danger" : requests ? undefined : "text-muted-foreground")}>
        {formatErrorRate(rate, requests)}
      </span>
      <span className="text-xs text-muted-foreground tabular-nums">{formatRequests(requests)}</span>
    </span>
  );
}

interface Pending {
  release: Release;
  action: HubAction;
}

/**
 * Every registered service with its live routing: canary weight, the active rollout, edge health
 * and the last minute's errors on each side. Quick actions are exactly those the API offers this
 * caller now, each confirmed with a reason; a refusal (409) stays in the dialog, said by the API.
 */
export function ReleasesCard({ releases, isPending }: { releases: Release[] | undefined; isPending: boolean }) {
  const mayRead = useCan("rollouts:read");
  const env = useCurrentEnv();
  const [pending, setPending] = useState<Pending | null>(null);
  const mutation = useRolloutAction((queryClient) => void invalidateHub(queryClient));

  const rows = releases ? inEnv(releases, env) : undefined;
  const filteredOut = Boolean(env && releases?.length && rows && !rows.length);

  // Tighter cells than the default so that the quick actions fit beside the figures on a laptop.
  const base: Column<Release>[] = [
    { id: "service", header: "Service", cell: (r) => <span className="font-medium">{r.service}</span> },
    { id: "env", header: "Env", cell: (r) => <Badge variant="outline">{r.env}</Badge> },
    {
      id: "weight",
      header: "Canary weight",
      cell: (r) => <WeightBar weight={r.canaryWeight} label={`Canary weight of ${r.service}`} />,
    },
    {
      id: "rollout",
      header: "Rollout",
      cell: (r) =>
        r.rolloutId ? (
          <span className="flex flex-wrap items-center gap-x-2 gap-y-1">
            {r.rolloutStatus ? <RolloutStatusBadge status={r.rolloutStatus} /> : null}
            <EnvLink
              to={`/rollouts/${encodeURIComponent(r.rolloutId)}`}
              aria-label={`View rollout of ${r.service}`}
              className={cn(LINK, "text-sm whitespace-nowrap")}
            >
              View rollout
            </EnvLink>
          </span>
        ) : (
          <span className="text-sm text-muted-foreground">none active</span>
        ),
    },
    {
      id: "health",
      header: "Health",
      cell: (r) => (
        <Badge variant={healthVariant(r.health)} data-release-health={r.health}>
          {r.health}
        </Badge>
      ),
    },
    {
      id: "canary",
      header: "Canary (1 min)",
      cell: (r) => <Traffic side="canary" rate={r.canaryErrorRate} requests={r.canaryRequests} />,
    },
    {
      id: "stable",
      header: "Stable (1 min)",
      cell: (r) => <Traffic side="stable" rate={r.stableErrorRate} requests={r.stableRequests} />,
    },
    {
      id: "actions",
      header: "Quick actions",
      srOnlyHeader: true,
      cell: (r) => {
        const actions = r.rolloutId ? releaseActions(r.actions) : [];
        if (!actions.length) return null;
        return (
          <div className="ml-auto grid w-max grid-cols-2 gap-1.5" role="group" aria-label={`Quick actions for ${r.service}`}>
            {actions.map((a) => {
              const Icon = CONTROL_ICONS[a];
              return (
                <Button
                  key={a}
                  size="sm"
                  className="justify-start px-2.5"
                  variant={VARIANTS[a]}
                  data-action={a}
                  aria-label={`${CONTROLS[a].label} ${r.service}`}
                  disabled={mutation.isPending}
                  onClick={() => setPending({ release: r, action: a })}
                >
                  <Icon aria-hidden="true" />
                  {CONTROLS[a].label}
                </Button>
              );
            })}
          </div>
        );
      },
    },
  ];
  const columns = base.map((c) => ({ ...c, className: cn("px-2 first:pl-3 last:pr-3", c.className) }));

  return (
    <Card data-testid="hub-releases">
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-4">
        <div className="grid min-w-0 flex-1 basis-72 gap-1">
          <CardTitle id="hub-releases-title">Releases</CardTitle>
          <CardDescription>
            Each service behind the edge router: how much traffic its canary gets, its rollout, and the errors each side
            answered over the last minute.
          </CardDescription>
        </div>
        {mayRead ? (
          <Button asChild variant="outline" size="sm">
            <EnvLink to="/rollouts">
              Open rollouts <ArrowRightIcon aria-hidden="true" />
            </EnvLink>
          </Button>
        ) : null}
      </CardHeader>
      <CardContent>
        {!mayRead ? (
          <div className="flex items-start gap-3 rounded-lg border border-dashed p-4 text-sm">
            <LockIcon className="mt-0.5 size-4 shrink-0 text-muted-foreground" aria-hidden="true" />
            <p>
              Releases need the <span className="font-mono">rollouts:read</span> permission: ask a Maestro admin for a role
              that grants it to see services, canaries and their rollouts.
            </p>
          </div>
        ) : (
          <DataTable
            caption="Releases"
            columns={columns}
            rows={rows}
            rowKey={releaseKey}
            isPending={isPending}
            skeletonRows={3}
            filtered={filteredOut}
            empty={{
              icon: RocketIcon,
              title: (
                <>
                  No services yet: register one on the{" "}
                  <EnvLink to="/rollouts" className={LINK}>
                    Rollouts page
                  </EnvLink>{" "}
                  (the edge router routes /&lt;service&gt;/… to it)
                </>
              ),
              description:
                "Each service has a stable upstream; a rollout adds a canary and moves a growing share of the service's traffic to it.",
            }}
            filteredEmpty={{
              icon: RocketIcon,
              title: `No services in ${env ?? "this environment"}`,
              description: (
                <>
                  Services of other environments are hidden by the environment switcher. Register one for {env} on the{" "}
                  <EnvLink to="/rollouts" className={LINK}>
                    Rollouts page
                  </EnvLink>
                  .
                </>
              ),
            }}
          />
        )}
      </CardContent>
      <RolloutActionDialog
        control={pending?.action ?? null}
        service={pending?.release.service ?? ""}
        mutation={mutation}
        onClose={() => setPending(null)}
        request={(action, reason) => {
          const rolloutId = pending?.release.rolloutId;
          if (!rolloutId) return null;
          return {
            path: { rollout_id: rolloutId },
            body: { action, reason, ...(action === "promote" ? { full: false } : {}) },
          };
        }}
      />
    </Card>
  );
}
