import { useQuery, useQueryClient } from "@tanstack/react-query";
import {
  KeyRoundIcon,
  LayersIcon,
  LogOutIcon,
  MonitorIcon,
  MoonIcon,
  PlayIcon,
  RocketIcon,
  ServerIcon,
  ShieldCheckIcon,
  ShieldPlusIcon,
  SunIcon,
  UserPlusIcon,
  type LucideIcon,
} from "lucide-react";
import { defaultFilter } from "cmdk";
import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { auditVerifyOptions, environmentsListOptions } from "@/client/@tanstack/react-query.gen";
import {
  Command,
  CommandEmpty,
  CommandGroup,
  CommandInput,
  CommandItem,
  CommandList,
  CommandShortcut,
} from "@/components/ui/command";
import { Dialog, DialogContent, DialogDescription, DialogTitle } from "@/components/ui/dialog";
import { asProblem } from "@/lib/api-error";
import { ENV_PARAM, sortEnvNames, useEnvHref } from "@/lib/env";
import { can, canAny, type Permission } from "@/lib/permissions";
import { setTheme } from "@/lib/theme";
import { toast, toastError } from "@/lib/toast";
import { usePermissions } from "@/features/auth/session";
import { useSignOut } from "@/features/auth/use-sign-out";
import { visibleSections } from "./nav";
import { kindIcon, kindLabel, MIN_QUERY, useSearchHits } from "./search";

interface PaletteAction {
  id: string;
  label: string;
  icon: LucideIcon;
  keywords?: string[];
  anyOf?: Permission[];
  run: () => void;
}

/** ⌘K / Ctrl-K: go anywhere, find entities by name or id, and run the actions you may run. */
export function CommandPalette({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <PaletteBody close={() => onOpenChange(false)} /> : null}
    </Dialog>
  );
}

function PaletteBody({ close }: { close: () => void }) {
  const [query, setQuery] = useState("");
  const navigate = useNavigate();
  const href = useEnvHref();
  const [, setParams] = useSearchParams();
  const permissions = usePermissions();
  const queryClient = useQueryClient();
  const { signOut } = useSignOut();
  // "run <name>": the pipelines found become "Run pipeline <name>…" commands (the rest of the query is searched).
  const runIntent = /^run\s+(.*)$/is.exec(query.trimStart());
  const { hits, isFetching, error } = useSearchHits(runIntent ? runIntent[1] : query);
  const mayRun = canAny(permissions, ["runs:write"]);
  const envs = useQuery({ ...environmentsListOptions(), staleTime: 5 * 60_000 });

  const go = (to: string) => {
    close();
    navigate(href(to));
  };

  const actions: PaletteAction[] = [
    {
      id: "run-start",
      label: "Run a pipeline…",
      icon: PlayIcon,
      anyOf: ["runs:write"],
      keywords: ["start", "run", "trigger", "build", "pipeline"],
      run: () => setQuery("run "),
    },
    {
      id: "token-create",
      label: "Create an API token",
      icon: KeyRoundIcon,
      anyOf: ["tokens:self", "admin:tokens"],
      keywords: ["new", "token", "key"],
      run: () => go("/admin/tokens?new=1"),
    },
    {
      id: "user-create",
      label: "Create a user",
      icon: UserPlusIcon,
      anyOf: ["admin:users"],
      keywords: ["new", "user", "account"],
      run: () => go("/admin/users?new=1"),
    },
    {
      id: "policy-create",
      label: "Create a policy",
      icon: ShieldPlusIcon,
      anyOf: ["policies:write"],
      keywords: ["new", "policy", "rego", "opa", "gate"],
      run: () => go("/policies?new=1"),
    },
    {
      id: "rollout-start",
      label: "Start a rollout",
      icon: RocketIcon,
      anyOf: ["rollouts:promote"],
      keywords: ["new", "rollout", "canary", "deploy", "edge"],
      run: () => go("/rollouts?new=1"),
    },
    {
      id: "service-register",
      label: "Register a service",
      icon: ServerIcon,
      anyOf: ["rollouts:promote"],
      keywords: ["new", "service", "edge", "route", "canary"],
      run: () => go("/rollouts?register=1"),
    },
    {
      id: "audit-verify",
      label: "Verify the audit chain",
      icon: ShieldCheckIcon,
      anyOf: ["audit:read"],
      keywords: ["audit", "hash", "integrity"],
      run: () => {
        close();
        queryClient
          .fetchQuery({ ...auditVerifyOptions(), staleTime: 0 })
          .then((r) =>
            r.ok
              ? toast({ title: "Audit chain verified", description: `${r.checked} events checked, no break.`, variant: "success" })
              : toast({
                  title: "Audit chain broken",
                  description: `First broken event: #${r.firstBrokenSeq ?? "?"}. ${r.reason ?? ""}`,
                  variant: "destructive",
                }),
          )
          .catch((e) => toastError(e, "Could not verify the audit chain"));
      },
    },
    ...sortEnvNames(envs.data?.items.map((e) => e.name) ?? []).map(
      (name): PaletteAction => ({
        id: `env-${name}`,
        label: `Switch environment to ${name}`,
        icon: LayersIcon,
        keywords: ["environment", "env", name],
        run: () => {
          close();
          setParams((prev) => {
            const next = new URLSearchParams(prev);
            next.set(ENV_PARAM, name);
            return next;
          });
        },
      }),
    ),
    { id: "theme-light", label: "Use the light theme", icon: SunIcon, keywords: ["theme", "appearance"], run: () => (setTheme("light"), close()) },
    { id: "theme-dark", label: "Use the dark theme", icon: MoonIcon, keywords: ["theme", "appearance"], run: () => (setTheme("dark"), close()) },
    { id: "theme-system", label: "Use the system theme", icon: MonitorIcon, keywords: ["theme", "appearance"], run: () => (setTheme("system"), close()) },
    { id: "sign-out", label: "Sign out", icon: LogOutIcon, keywords: ["logout", "log out"], run: () => (close(), signOut()) },
  ].filter((a) => !a.anyOf || canAny(permissions, a.anyOf));

  const searching = (runIntent ? runIntent[1] : query).trim().length >= MIN_QUERY;
  const runnable = mayRun && searching ? hits.filter((h) => h.kind === "pipeline") : [];
  const runValue = (h: { id: string }) => `run:${h.id}`;

  // Filtering is done here (not by cmdk) so that the first visible entry, including search
  // results that arrive later, is always the highlighted one Enter picks.
  const matches = (label: string, keywords: string[] = []) => !query.trim() || defaultFilter(label, query.trim(), keywords) > 0;
  const pages = runIntent
    ? []
    : visibleSections(permissions)
        .flatMap((s) => s.items.map((item) => ({ ...item, section: s.label, value: `go:${item.to}` })))
        .filter((i) => matches(i.label, [i.section, ...(i.keywords ?? [])]));
  const shownActions = runIntent ? [] : actions.filter((a) => matches(a.label, a.keywords));
  const hitValue = (h: { kind: string; id: string }) => `hit:${h.kind}:${h.id}`;
  const shownHits = searching && !runIntent ? hits : [];
  // With "run …" the run commands come first; otherwise they follow the results they belong to.
  const visible = runIntent
    ? runnable.map(runValue)
    : [...shownHits.map(hitValue), ...runnable.map(runValue), ...pages.map((p) => p.value), ...shownActions.map((a) => `action:${a.id}`)];
  const [selected, setSelected] = useState("");
  const current = visible.includes(selected) ? selected : (visible[0] ?? "");

  return (
    <DialogContent className="top-[20%] translate-y-0 overflow-hidden p-0 sm:max-w-xl" showCloseButton={false}>
      <DialogTitle className="sr-only">Command palette</DialogTitle>
      <DialogDescription className="sr-only">
        Search pages, actions and entities; use the arrow keys and Enter to choose.
      </DialogDescription>
      <Command label="Command palette" loop shouldFilter={false} value={current} onValueChange={setSelected}>
        <CommandInput value={query} onValueChange={setQuery} placeholder="Type a command, a page, or search by name or id…" />
        <CommandList label="Commands and results">
          {visible.length === 0 && !error ? (
            <CommandEmpty>
              {searching && isFetching
                ? "Searching…"
                : runIntent
                  ? searching
                    ? `No pipeline you may run matches “${runIntent[1].trim()}”.`
                    : "Type the name of the pipeline to run."
                  : "No matching commands or results."}
            </CommandEmpty>
          ) : null}
          {runIntent && runnable.length ? <RunGroup hits={runnable} value={runValue} go={go} /> : null}
          {searching && (shownHits.length > 0 || error) ? (
            <CommandGroup heading="Search results">
              {shownHits.map((h) => {
                const Icon = kindIcon(h.kind);
                return (
                  <CommandItem
                    key={`${h.kind}:${h.id}`}
                    value={hitValue(h)}
                    onSelect={() => go(h.href)}
                  >
                    <Icon aria-hidden="true" />
                    <span className="truncate">{h.title}</span>
                    <span className="truncate text-xs text-muted-foreground">{h.subtitle}</span>
                    <CommandShortcut>{kindLabel(h.kind)}</CommandShortcut>
                  </CommandItem>
                );
              })}
              {error ? (
                <CommandItem value="search-error" disabled>
                  Search failed: {asProblem(error).detail || asProblem(error).title}
                </CommandItem>
              ) : null}
            </CommandGroup>
          ) : null}
          {!runIntent && runnable.length ? <RunGroup hits={runnable} value={runValue} go={go} /> : null}
          {pages.length ? (
            <CommandGroup heading="Go to">
              {pages.map((item) => (
                <CommandItem key={item.to} value={item.value} onSelect={() => go(item.to)}>
                  <item.icon aria-hidden="true" />
                  {item.label}
                  <CommandShortcut>{item.section}</CommandShortcut>
                </CommandItem>
              ))}
            </CommandGroup>
          ) : null}
          {shownActions.length ? (
            <CommandGroup heading="Actions">
              {shownActions.map((a) => (
                <CommandItem key={a.id} value={`action:${a.id}`} onSelect={a.run}>
                  <a.icon aria-hidden="true" />
                  {a.label}
                </CommandItem>
              ))}
            </CommandGroup>
          ) : null}
        </CommandList>
      </Command>
      <p className="border-t px-3 py-2 text-xs text-muted-foreground">
        {can(permissions, "admin:*") ? "Admin: every action is available." : `${permissions.length} permissions from your role bindings.`}{" "}
        ↑↓ to move, Enter to choose, Esc to close.
      </p>
    </DialogContent>
  );
}

/** "Run pipeline X…": opens the pipeline's start-run form (inputs, ref, environment, then Start). */
function RunGroup({
  hits,
  value,
  go,
}: {
  hits: { id: string; title: string; subtitle?: string }[];
  value: (h: { id: string }) => string;
  go: (to: string) => void;
}) {
  return (
    <CommandGroup heading="Run">
      {hits.map((h) => (
        <CommandItem key={h.id} value={value(h)} onSelect={() => go(`/pipelines/${encodeURIComponent(h.id)}?tab=run`)}>
          <PlayIcon aria-hidden="true" />
          <span className="truncate">Run pipeline {h.title}…</span>
          <span className="truncate text-xs text-muted-foreground">{h.subtitle}</span>
        </CommandItem>
      ))}
    </CommandGroup>
  );
}
