import { useMutation, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { ArrowUpIcon, ChevronsUpIcon, OctagonXIcon, PauseIcon, PlayIcon, Undo2Icon, type LucideIcon } from "lucide-react";
import { rolloutsActionMutation } from "@/client/@tanstack/react-query.gen";
import type { RolloutControl } from "./model";
import { invalidateRollout, invalidateRolloutLists, invalidateServices } from "./queries";

/** Each rollout control's icon, wherever its button is shown. */
export const CONTROL_ICONS: Record<RolloutControl, LucideIcon> = {
  pause: PauseIcon,
  resume: PlayIcon,
  promote: ArrowUpIcon,
  "promote-full": ChevronsUpIcon,
  rollback: Undo2Icon,
  abort: OctagonXIcon,
};

/**
 * The rollout action mutation. Once settled (done or refused), it refetches the rollout, every
 * rollouts list and the services; `extraOnSettled` runs first, for what the caller shows besides.
 */
export function useRolloutAction(extraOnSettled?: (queryClient: QueryClient) => void) {
  const queryClient = useQueryClient();
  return useMutation({
    ...rolloutsActionMutation(),
    onSettled: (_data, _error, vars) => {
      extraOnSettled?.(queryClient);
      void invalidateRollout(queryClient, vars.path.rollout_id);
      void invalidateRolloutLists(queryClient);
      void invalidateServices(queryClient);
    },
  });
}

export type RolloutActionMutation = ReturnType<typeof useRolloutAction>;
