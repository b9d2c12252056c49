import { useQuery } from "@tanstack/react-query";
import { authMeOptions } from "@/client/@tanstack/react-query.gen";
import type { AuthMeResponse } from "@/client/types.gen";
import { readEarlySession, takeEarlySession } from "@/lib/early-session";
import { can, type Permission } from "@/lib/permissions";

/**
 * The signed-in session (user, CSRF token, permissions): one cached /api/auth/me. The first one
 * takes the request src/boot.js started from <head>, in parallel with the app's code.
 */
export function sessionQueryOptions() {
  const options = authMeOptions();
  return {
    ...options,
    queryFn: async (ctx: Parameters<NonNullable<typeof options.queryFn>>[0]) => {
      const early = takeEarlySession();
      if (early) {
        const response = await early.catch(() => null);
        // a network failure of the early request: ask again the usual way (which reports it)
        if (response) return readEarlySession(response);
      }
      return options.queryFn!(ctx);
    },
    retry: false,
    staleTime: 5 * 60_000,
  } as const;
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
