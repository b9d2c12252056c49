import type { LucideIcon } from "lucide-react";
import {
  BellRingIcon,
  BookOpenIcon,
  ChartColumnIcon,
  FlameIcon,
  GaugeIcon,
  KeyRoundIcon,
  LayoutDashboardIcon,
  PiggyBankIcon,
  PlayIcon,
  RocketIcon,
  ScaleIcon,
  ScrollTextIcon,
  ShieldCheckIcon,
  UsersIcon,
  WaypointsIcon,
  WorkflowIcon,
} from "lucide-react";
import { canAny, type Permission } from "@/lib/permissions";

/** The IA sections that exist so far. Later capabilities add theirs here — no placeholders. */
export interface NavItem {
  to: string;
  label: string;
  icon: LucideIcon;
  /** Shown only to callers holding one of these (none = everyone signed in). */
  anyOf?: Permission[];
  keywords?: string[];
  end?: boolean;
  /** Paths under `to` that have their own entry: the item is not shown as current there. */
  notUnder?: string[];
}

export interface NavSection {
  id: string;
  label: string;
  items: NavItem[];
}

export const NAV_SECTIONS: NavSection[] = [
  {
    id: "hub",
    label: "Control Hub",
    items: [{ to: "/", label: "Overview", icon: LayoutDashboardIcon, end: true, keywords: ["home", "health", "control hub"] }],
  },
  {
    id: "runs",
    label: "Runs & Pipelines",
    items: [
      { to: "/runs", label: "Runs", icon: PlayIcon, anyOf: ["runs:read"], keywords: ["run", "build", "job", "logs", "runs & pipelines"] },
      {
        to: "/pipelines",
        label: "Pipelines",
        icon: WorkflowIcon,
        anyOf: ["runs:read"],
        keywords: ["pipeline", "dag", "spec", "yaml", "runs & pipelines"],
      },
    ],
  },
  {
    id: "delivery",
    label: "Delivery",
    items: [
      {
        to: "/rollouts",
        label: "Rollouts",
        icon: RocketIcon,
        anyOf: ["rollouts:read"],
        keywords: ["canary", "rollout", "promote", "rollback", "roll back", "edge", "service", "traffic", "weight", "delivery"],
      },
    ],
  },
  {
    id: "routing",
    label: "Model routing",
    items: [
      {
        to: "/routing",
        label: "Routing Studio",
        icon: WaypointsIcon,
        anyOf: ["routing:read"],
        keywords: ["routing", "gateway", "model", "llm", "provider", "class", "candidate", "pin", "failover", "kill switch", "downgrade"],
      },
    ],
  },
  {
    id: "finops",
    label: "FinOps",
    items: [
      {
        to: "/finops",
        label: "Budgets",
        icon: PiggyBankIcon,
        anyOf: ["budgets:read"],
        notUnder: ["/finops/costs"],
        keywords: ["budget", "cap", "quota", "freeze", "unfreeze", "tier", "spend", "burn", "finops"],
      },
      {
        to: "/finops/costs",
        label: "Cost explorer",
        icon: ChartColumnIcon,
        anyOf: ["budgets:read"],
        keywords: ["cost", "spend", "ledger", "forecast", "anomaly", "top drivers", "export", "csv", "parquet", "finops"],
      },
    ],
  },
  {
    id: "observability",
    label: "Observability",
    items: [
      {
        to: "/observability",
        label: "Service levels",
        icon: GaugeIcon,
        anyOf: ["system:read"],
        end: true,
        keywords: ["slo", "sli", "error budget", "burn rate", "observability"],
      },
      {
        to: "/observability/alerts",
        label: "Alerts",
        icon: BellRingIcon,
        anyOf: ["system:read"],
        keywords: ["alert", "incident", "ack", "page", "on-call", "observability"],
      },
      {
        to: "/observability/insights",
        label: "Insights",
        icon: FlameIcon,
        anyOf: ["runs:read"],
        keywords: ["insights", "hot and cold", "flaky", "flaky tests", "slowest steps", "p95", "noisy alerts", "cost", "observability"],
      },
      {
        to: "/runbooks",
        label: "Runbooks",
        icon: BookOpenIcon,
        keywords: ["runbook", "playbook", "on-call", "what to do", "docs", "observability"],
      },
    ],
  },
  {
    id: "supply",
    label: "Supply chain",
    items: [
      {
        to: "/policies",
        label: "Policies",
        icon: ShieldCheckIcon,
        anyOf: ["policies:read"],
        notUnder: ["/policies/decisions"],
        keywords: ["policy", "rego", "gate", "opa", "decision", "admission", "promote", "supply chain"],
      },
      {
        to: "/policies/decisions",
        label: "Decision log",
        icon: ScaleIcon,
        anyOf: ["policies:read"],
        keywords: ["decision", "decisions", "allowed", "denied", "gate", "rego", "opa", "policy", "supply chain"],
      },
    ],
  },
  {
    id: "admin",
    label: "Admin",
    items: [
      { to: "/admin/tokens", label: "API tokens", icon: KeyRoundIcon, anyOf: ["tokens:self", "admin:tokens"], keywords: ["token", "key", "api"] },
      { to: "/admin/users", label: "Users & roles", icon: UsersIcon, anyOf: ["admin:users"], keywords: ["user", "role", "binding", "rbac"] },
      { to: "/admin/audit", label: "Audit log", icon: ScrollTextIcon, anyOf: ["audit:read"], keywords: ["audit", "history", "chain"] },
    ],
  },
];

export function visibleSections(permissions: readonly string[]): NavSection[] {
  return NAV_SECTIONS.map((s) => ({ ...s, items: s.items.filter((i) => !i.anyOf || canAny(permissions, i.anyOf)) })).filter(
    (s) => s.items.length > 0,
  );
}
