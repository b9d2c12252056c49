import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { LucideIcon } from "lucide-react";
import {
  BellIcon,
  FileSearchIcon,
  KeyRoundIcon,
  LayersIcon,
  PackageIcon,
  PlayIcon,
  RocketIcon,
  ScrollTextIcon,
  ServerIcon,
  ShieldCheckIcon,
  UserIcon,
  WorkflowIcon,
} from "lucide-react";
import { searchOptions } from "@/client/@tanstack/react-query.gen";
import type { SearchResponse } from "@/client/types.gen";
import { useDebounced } from "@/lib/use-debounced";

export type SearchHit = SearchResponse["items"][number];

export const MIN_QUERY = 2;

/**
 * GET /api/search for the palette and the omnibar: entities by name or id (alerts by name or
 * summary, artifacts by path or sha256 prefix), best first, audit events last, only what the
 * caller may see.
 */
export function useSearchHits(query: string, limit = 8) {
  const q = useDebounced(query.trim(), 150);
  const enabled = q.length >= MIN_QUERY;
  const result = useQuery({
    ...searchOptions({ query: { q, limit } }),
    enabled,
    placeholderData: keepPreviousData,
    staleTime: 10_000,
  });
  return {
    hits: enabled ? (result.data?.items ?? []) : [],
    isFetching: enabled && result.isFetching,
    error: enabled ? result.error : null,
    settledQuery: q,
  };
}

const KIND_ICONS: Record<string, LucideIcon> = {
  user: UserIcon,
  token: KeyRoundIcon,
  audit: ScrollTextIcon,
  environment: LayersIcon,
  pipeline: WorkflowIcon,
  run: PlayIcon,
  rollout: RocketIcon,
  service: ServerIcon,
  alert: BellIcon,
  artifact: PackageIcon,
  policy: ShieldCheckIcon,
};

/** What a kind is called in result lists. */
export function kindLabel(kind: string): string {
  return kind === "audit" ? "audit event" : kind;
}

export function kindIcon(kind: string): LucideIcon {
  return KIND_ICONS[kind] ?? FileSearchIcon;
}
