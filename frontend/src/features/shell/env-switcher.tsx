import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { environmentsListOptions } from "@/client/@tanstack/react-query.gen";
import { NativeSelect } from "@/components/ui/native-select";
import { ENV_PARAM, sortEnvNames } from "@/lib/env";

/** dev / staging / prod, kept in the URL as `?env=` (and carried by every EnvLink). */
export function EnvSwitcher() {
  const [params, setParams] = useSearchParams();
  const current = params.get(ENV_PARAM) ?? "";
  const { data, isError } = useQuery({ ...environmentsListOptions(), staleTime: 5 * 60_000 });
  const names = sortEnvNames([...(data?.items.map((e) => e.name) ?? []), ...(current ? [current] : [])]);
  return (
    <NativeSelect
      className="w-32 shrink-0 sm:w-44"
      aria-label="Environment"
      title={isError ? "Could not load the environments" : undefined}
      value={current}
      onChange={(e) => {
        const v = e.target.value;
        setParams((prev) => {
          const next = new URLSearchParams(prev);
          if (v) next.set(ENV_PARAM, v);
          else next.delete(ENV_PARAM);
          return next;
        });
      }}
    >
      <option value="">All environments</option>
      {names.map((n) => (
        <option key={n} value={n}>
          {n}
        </option>
      ))}
    </NativeSelect>
  );
}
