import { useSyncExternalStore } from "react";

/** Colour theme: "system" follows prefers-color-scheme. Same key as src/theme-init.js. */
export type Theme = "light" | "dark" | "system";
const KEY = "maestro-theme";
const listeners = new Set<() => void>();

function read(): Theme {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

let current: Theme = typeof window === "undefined" ? "system" : read();

function systemDark(): boolean {
  return typeof window !== "undefined" && typeof window.matchMedia === "function"
    ? window.matchMedia("(prefers-color-scheme: dark)").matches
    : false;
}

export function resolvedTheme(theme: Theme = current): "light" | "dark" {
  return theme === "system" ? (systemDark() ? "dark" : "light") : theme;
}

function apply() {
  const dark = resolvedTheme() === "dark";
  document.documentElement.classList.toggle("dark", dark);
  document.documentElement.style.colorScheme = dark ? "dark" : "light";
}

export function setTheme(theme: Theme): void {
  current = theme;
  try {
    if (theme === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
  } catch {
    /* storage unavailable: still apply for this page */
  }
  apply();
  for (const l of listeners) l();
}

export function installThemeListener(): void {
  apply();
  window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (current === "system") {
      apply();
      for (const l of listeners) l();
    }
  });
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useTheme(): { theme: Theme; resolved: "light" | "dark"; setTheme: (t: Theme) => void } {
  const theme = useSyncExternalStore(subscribe, () => current, () => current);
  return { theme, resolved: resolvedTheme(theme), setTheme };
}
