import { Command as CommandPrimitive } from "cmdk";
import { SearchIcon } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { useNavigate } from "react-router";
import { CommandGroup, CommandItem, CommandList } from "@/components/ui/command";
import { useEnvHref } from "@/lib/env";
import { asProblem } from "@/lib/api-error";
import { cn } from "@/lib/utils";
import { usePermissions } from "@/features/auth/session";
import { visibleSections } from "./nav";
import { kindIcon, kindLabel, MIN_QUERY, useSearchHits } from "./search";

/**
 * The search box in the top bar: pages and entities (GET /api/search: runs, pipelines, rollouts,
 * services, alerts, artifacts by path or digest…) as you type; Enter opens the highlighted one.
 * "/" focuses it from anywhere.
 */
export function Omnibar() {
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const navigate = useNavigate();
  const href = useEnvHref();
  const permissions = usePermissions();
  const { hits, isFetching, error, settledQuery } = useSearchHits(query);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const target = e.target as HTMLElement | null;
      const typing = target?.closest("input, textarea, select, [contenteditable=true]");
      if (e.key === "/" && !typing && !e.metaKey && !e.ctrlKey && !e.altKey) {
        e.preventDefault();
        inputRef.current?.focus();
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const q = query.trim().toLowerCase();
  const pages =
    q.length > 0
      ? visibleSections(permissions)
          .flatMap((s) => s.items)
          .filter((i) => [i.label, ...(i.keywords ?? [])].some((t) => t.toLowerCase().includes(q)))
      : [];
  const showPanel = open && q.length > 0;
  // Keep the highlight on a visible entry as results arrive, so Enter always has a target.
  const visible = [...pages.map((p) => `page:${p.to}`), ...hits.map((h) => `hit:${h.kind}:${h.id}`)];
  const [selected, setSelected] = useState("");
  const current = visible.includes(selected) ? selected : (visible[0] ?? "");

  function go(to: string) {
    setOpen(false);
    setQuery("");
    inputRef.current?.blur();
    navigate(href(to));
  }

  return (
    <div role="search" aria-label="Omnibar" className="relative w-full max-w-md">
      <CommandPrimitive
        label="Search Maestro"
        shouldFilter={false}
        loop
        className="relative"
        value={current}
        onValueChange={setSelected}
      >
        <div className="relative">
          <SearchIcon
            className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted-foreground"
            aria-hidden="true"
          />
          <CommandPrimitive.Input
            ref={inputRef}
            value={query}
            onValueChange={(v) => {
              setQuery(v);
              setOpen(true);
            }}
            onFocus={() => setOpen(true)}
            onBlur={() => setOpen(false)}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                setOpen(false);
                setQuery("");
              }
            }}
            placeholder="Search runs, pipelines, alerts, artifacts…  ( / )"
            className="h-9 w-full rounded-md border border-input bg-background pr-3 pl-8 text-sm outline-none placeholder:text-muted-foreground focus-visible:ring-2 focus-visible:ring-ring"
          />
        </div>
        <CommandList
          label="Omnibar results"
          // Kept in the DOM (the input's aria-controls points at it); hidden while closed.
          className={cn(
            "absolute top-full right-0 left-0 z-50 mt-1 rounded-md border bg-popover p-1 text-popover-foreground shadow-lg",
            !showPanel && "hidden",
          )}
          onMouseDown={(e) => e.preventDefault()}
        >
          {showPanel ? (
            <>
              {pages.length > 0 ? (
                <CommandGroup heading="Pages">
                  {pages.map((p) => (
                    <CommandItem key={p.to} value={`page:${p.to}`} onSelect={() => go(p.to)}>
                      <p.icon aria-hidden="true" />
                      {p.label}
                    </CommandItem>
                  ))}
                </CommandGroup>
              ) : null}
              {hits.length > 0 ? (
                <CommandGroup heading="Results">
                  {hits.map((h) => {
                    const Icon = kindIcon(h.kind);
                    return (
                      <CommandItem key={`${h.kind}:${h.id}`} value={`hit:${h.kind}:${h.id}`} onSelect={() => go(h.href)}>
                        <Icon aria-hidden="true" />
                        <span className="max-w-[60%] shrink-0 truncate">{h.title}</span>
                        <span className="ml-auto min-w-0 truncate text-xs text-muted-foreground">{h.subtitle}</span>
                        <span className="shrink-0 rounded border px-1 text-xs text-muted-foreground">{kindLabel(h.kind)}</span>
                      </CommandItem>
                    );
                  })}
                </CommandGroup>
              ) : null}
              {q.length < MIN_QUERY && pages.length === 0 ? (
                <p className="px-2 py-2 text-sm text-muted-foreground">Type at least {MIN_QUERY} characters.</p>
              ) : null}
              {q.length >= MIN_QUERY && !isFetching && settledQuery.toLowerCase() === q && hits.length === 0 && pages.length === 0 && !error ? (
                <p className="px-2 py-2 text-sm text-muted-foreground">Nothing matches “{query.trim()}”.</p>
              ) : null}
              {isFetching && hits.length === 0 ? <p className="px-2 py-2 text-sm text-muted-foreground">Searching…</p> : null}
              {error ? <p className="px-2 py-2 text-sm text-danger">Search failed: {asProblem(error).detail}</p> : null}
            </>
          ) : null}
        </CommandList>
      </CommandPrimitive>
    </div>
  );
}
