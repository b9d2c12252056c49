import { useQuery } from "@tanstack/react-query";
import { authMeOptions } from "@/client/@tanstack/react-query.gen";
import type { AuthMeResponse } from "@/client/types.gen";
import { can, type Permission } from "@/lib/permissions";

/** The signed-in session (user, CSRF token, permissions): one cached /api/auth/me. */
export function sessionQueryOptions() {
  return { ...authMeOptions(), retry: false, staleTime: 5 * 60_000 } as const;
}

export function useSession() {
  return useQuery(sessionQueryOptions());
}

export type Session = AuthMeResponse;

export function usePermissions(): string[] {
  return useSession().data?.permissions ?? [];
}

export function useCan(wanted: Permission): boolean {
  return can(useSession().data?.permissions, wanted);
}
