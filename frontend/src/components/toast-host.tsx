import { lazy, Suspense } from "react";
import { useToasts } from "@/lib/toast";

const Toaster = lazy(() => import("@/components/toaster").then((m) => ({ default: m.Toaster })));

/** Loads the toast UI with the first toast, keeping it out of the entry chunk. */
export function ToastHost() {
  const toasts = useToasts();
  return toasts.length ? (
    <Suspense fallback={null}>
      <Toaster />
    </Suspense>
  ) : null;
}
