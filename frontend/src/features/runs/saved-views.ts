import { useSyncExternalStore } from "react";

/**
 * Saved views of the runs table: a name and the filter query string. They live in this
 * browser's localStorage (a UI preference, not server state); sharing one is sharing its URL
 * (`/runs?<search>`), which restores the same filters anywhere.
 */
export interface SavedView {
  name: string;
  search: string;
}

const KEY = "maestro-runs-views";
const listeners = new Set<() => void>();
let cache: SavedView[] | null = null;

function read(): SavedView[] {
  if (cache) return cache;
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? "[]") as unknown;
    cache = Array.isArray(raw)
      ? raw.filter(
          (v): v is SavedView =>
            typeof v === "object" && v !== null && typeof (v as SavedView).name === "string" && typeof (v as SavedView).search === "string",
        )
      : [];
  } catch {
    cache = [];
  }
  return cache;
}

function write(views: SavedView[]) {
  cache = views;
  try {
    localStorage.setItem(KEY, JSON.stringify(views));
  } catch {
    /* storage full or disabled: the views last for this page only */
  }
  for (const l of listeners) l();
}

export function saveView(name: string, search: string): void {
  const clean = name.trim();
  if (!clean) return;
  write([...read().filter((v) => v.name !== clean), { name: clean, search }].sort((a, b) => a.name.localeCompare(b.name)));
}

export function deleteView(name: string): void {
  write(read().filter((v) => v.name !== name));
}

function subscribe(l: () => void) {
  listeners.add(l);
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY) {
      cache = null;
      l();
    }
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(l);
    window.removeEventListener("storage", onStorage);
  };
}

export function useSavedViews(): SavedView[] {
  return useSyncExternalStore(subscribe, read, read);
}
