import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { RunEvent, StepEvent } from "@/client/types.gen";
import { byQueryId } from "@/lib/query-keys";
import { useEventStream, type StreamState } from "@/lib/sse";
import { useThrottle } from "@/lib/use-throttle";
import { useCan } from "@/features/auth/session";
import { applyRunEvent, applyStepEvent, invalidateRun, invalidateRunLists } from "./queries";

/**
 * `/api/streams/runs` → the TanStack Query cache: every event patches the cached lists and run
 * details at once; new runs, finished runs and step changes also trigger a (throttled) refetch so
 * fields the events do not carry (timings, new rows under server-side filters) follow.
 */
export function useRunsLiveUpdates(): StreamState {
  const queryClient = useQueryClient();
  const enabled = useCan("runs:read");
  const throttle = useThrottle(400);
  const refetchLists = (qc: QueryClient) => throttle("lists", () => void invalidateRunLists(qc));
  const refetchRun = (qc: QueryClient, id: string) => throttle(`run:${id}`, () => void invalidateRun(qc, id));

  const onRun = (e: RunEvent, refetch: boolean) => {
    const statusChanged = applyRunEvent(queryClient, e.payload);
    if (refetch || statusChanged) refetchLists(queryClient);
    if (refetch) refetchRun(queryClient, e.payload.runId);
  };
  const onStep = (e: StepEvent) => {
    applyStepEvent(queryClient, e.payload);
    refetchRun(queryClient, e.payload.runId);
  };

  return useEventStream(
    "runs",
    {
      run_started: (e) => onRun(e, true),
      run_progress: (e) => onRun(e, false),
      run_completed: (e) => onRun(e, true),
      step_started: onStep,
      step_completed: onStep,
      step_updated: onStep,
      approval_requested: onStep,
      // The server trimmed events we missed (or we reconnected): reload what is shown.
      reset: () => {
        refetchLists(queryClient);
        void queryClient.invalidateQueries({ predicate: byQueryId("runsGet") });
      },
    },
    enabled,
  );
}
