import { useSyncExternalStore } from "react";
import { asProblem } from "@/lib/api-error";

/** Transient UI notifications (not server state): a tiny external store read by <Toaster>. */
export type ToastVariant = "default" | "success" | "destructive";

export interface ToastItem {
  id: number;
  title: string;
  description?: string;
  variant: ToastVariant;
  open: boolean;
}

let items: ToastItem[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function emit() {
  for (const l of listeners) l();
}

export function toast(input: { title: string; description?: string; variant?: ToastVariant }): number {
  const id = nextId++;
  items = [...items, { id, title: input.title, description: input.description, variant: input.variant ?? "default", open: true }].slice(-5);
  emit();
  return id;
}

/** A toast for a failed call: the problem's title, detail and what to do about it. */
export function toastError(error: unknown, fallbackTitle = "The request failed"): number {
  const p = asProblem(error);
  const parts = [p.detail, p.remediation].filter(Boolean);
  return toast({ title: p.title || fallbackTitle, description: parts.join(" — "), variant: "destructive" });
}

export function dismissToast(id: number): void {
  items = items.map((t) => (t.id === id ? { ...t, open: false } : t));
  emit();
  // Leave time for the close animation before dropping it.
  setTimeout(() => {
    items = items.filter((t) => t.id !== id);
    emit();
  }, 300);
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useToasts(): ToastItem[] {
  return useSyncExternalStore(subscribe, () => items, () => items);
}
