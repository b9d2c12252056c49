import { useQueryClient } from "@tanstack/react-query";
import { CommandIcon, MenuIcon, SearchIcon } from "lucide-react";
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { Outlet, useLocation, useNavigation } from "react-router";
import { EnvLink } from "@/components/env-link";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogTitle } from "@/components/ui/dialog";
import { byQueryId } from "@/lib/query-keys";
import { useEventStream } from "@/lib/sse";
import { useCan } from "@/features/auth/session";
import { EnvSwitcher } from "./env-switcher";
import { Omnibar } from "./omnibar";
import { SideNav } from "./side-nav";
import { StatusRibbon } from "./status-ribbon";
import { ThemeToggle } from "./theme-toggle";
import { UserMenu } from "./user-menu";

const loadPalette = () => import("./command-palette");
const CommandPalette = lazy(() => loadPalette().then((m) => ({ default: m.CommandPalette })));

const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

/** `audit_appended` events refresh whatever audit views are cached (list pages and verification). */
function AuditLiveUpdates() {
  const queryClient = useQueryClient();
  const enabled = useCan("audit:read");
  const refresh = () =>
    void queryClient.invalidateQueries({ predicate: byQueryId("auditList", "auditVerify") });
  useEventStream("audit", { audit_appended: refresh, reset: refresh }, enabled);
  return null;
}

export function AppShell() {
  const [paletteOpen, setPaletteOpenState] = useState(false);
  // The palette's code loads on first use (or when the pointer heads for its button).
  const [paletteWanted, setPaletteWanted] = useState(false);
  const setPaletteOpen = (open: boolean | ((o: boolean) => boolean)) => {
    setPaletteWanted(true);
    setPaletteOpenState(open);
  };
  const [menuOpen, setMenuOpen] = useState(false);
  const navigation = useNavigation();
  const location = useLocation();
  const mainRef = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if ((e.metaKey || e.ctrlKey) && !e.altKey && e.key.toLowerCase() === "k") {
        e.preventDefault();
        setPaletteWanted(true);
        setPaletteOpenState((o) => !o);
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  // After a client-side navigation, move focus to the new page's content (screen readers and
  // keyboard users start there), like a full page load would.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    mainRef.current?.focus({ preventScroll: true });
  }, [location.pathname]);

  return (
    <div className="flex min-h-screen flex-col">
      <a
        href="#main"
        className="sr-only z-[60] rounded-md bg-primary px-3 py-2 text-sm font-medium text-primary-foreground focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-40 border-b bg-background">
        <StatusRibbon />
        <div className="flex h-14 items-center gap-2 px-2 sm:gap-3 sm:px-4">
          <Button variant="ghost" size="icon" className="md:hidden" aria-label="Open navigation" onClick={() => setMenuOpen(true)}>
            <MenuIcon aria-hidden="true" />
          </Button>
          <EnvLink to="/" className="flex items-center gap-2 rounded-md font-semibold tracking-tight outline-none focus-visible:ring-2 focus-visible:ring-ring">
            <img src="/favicon.svg" alt="" className="size-6" />
            <span className="max-sm:sr-only">Maestro</span>
          </EnvLink>
          <div className="ml-2 hidden flex-1 items-center sm:flex">
            <Omnibar />
          </div>
          <div className="flex-1 sm:hidden" />
          <Button variant="ghost" size="icon" className="sm:hidden" aria-label="Search and commands" onClick={() => setPaletteOpen(true)}>
            <SearchIcon aria-hidden="true" />
          </Button>
          <EnvSwitcher />
          <Button variant="outline" size="sm" className="hidden gap-1.5 sm:inline-flex" onClick={() => setPaletteOpen(true)} onPointerEnter={() => void loadPalette()} onFocus={() => void loadPalette()} aria-keyshortcuts={isMac ? "Meta+K" : "Control+K"}>
            <CommandIcon aria-hidden="true" />
            <span>Commands</span>
            <kbd className="rounded border bg-muted px-1 font-mono text-[10px] text-muted-foreground">{isMac ? "⌘K" : "Ctrl K"}</kbd>
          </Button>
          <ThemeToggle />
          <UserMenu />
        </div>
        {navigation.state === "loading" ? (
          <div className="h-0.5 w-full animate-pulse bg-ring" role="progressbar" aria-label="Loading page" />
        ) : null}
      </header>
      <div className="flex flex-1">
        <aside className="hidden w-60 shrink-0 border-r bg-sidebar md:block">
          <div className="sticky top-[5.5rem]">
            <SideNav />
          </div>
        </aside>
        <main id="main" ref={mainRef} tabIndex={-1} className="min-w-0 flex-1 px-4 py-6 outline-none sm:px-8">
          <Outlet />
        </main>
      </div>
      <Dialog open={menuOpen} onOpenChange={setMenuOpen}>
        <DialogContent className="top-0 left-0 h-full max-h-screen max-w-72 translate-x-0 translate-y-0 rounded-none p-0" aria-describedby={undefined}>
          <DialogTitle className="sr-only">Navigation</DialogTitle>
          <div onClickCapture={(e) => (e.target as HTMLElement).closest("a") && setMenuOpen(false)}>
            <SideNav />
          </div>
        </DialogContent>
      </Dialog>
      {paletteWanted ? (
        <Suspense fallback={null}>
          <CommandPalette open={paletteOpen} onOpenChange={setPaletteOpen} />
        </Suspense>
      ) : null}
      <AuditLiveUpdates />
    </div>
  );
}

export const Component = AppShell;
