import { useQuery } from "@tanstack/react-query";
import { SlidersHorizontalIcon } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import { environmentsListOptions } from "@/client/@tanstack/react-query.gen";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { sortEnvNames } from "@/lib/env";
import { RUN_STATUSES } from "./format";
import { parseLabels, type RunFilters } from "./queries";

/**
 * The runs filters as one compact bar (search, environment, "More filters" for status, pipeline,
 * owner, branch, labels and cost). Edits are drafts until applied; applying writes them to the URL
 * (remount with `key={signature}` so back/forward resets the drafts).
 */
export function RunsFilterBar({
  filters,
  onApply,
  onClear,
  active,
}: {
  filters: RunFilters;
  onApply: (f: RunFilters) => void;
  onClear: () => void;
  active: boolean;
}) {
  const id = useId();
  const [draft, setDraft] = useState(filters);
  const [labelText, setLabelText] = useState(filters.label.join(", "));
  const [errors, setErrors] = useState<{ label?: string; cost?: string }>({});
  const envs = useQuery({ ...environmentsListOptions(), staleTime: 5 * 60_000 });
  const envNames = sortEnvNames([...(envs.data?.items.map((e) => e.name) ?? []), ...(draft.env ? [draft.env] : [])]);
  const set = (patch: Partial<RunFilters>) => setDraft((d) => ({ ...d, ...patch }));

  function submit(e: FormEvent) {
    e.preventDefault();
    const { labels, bad } = parseLabels(labelText);
    const next: typeof errors = {};
    if (bad.length) next.label = `Write labels as key=value: ${bad.join(", ")}`;
    const min = draft.cost_min ? Number(draft.cost_min) : null;
    const max = draft.cost_max ? Number(draft.cost_max) : null;
    if ((min !== null && !(min >= 0)) || (max !== null && !(max >= 0))) next.cost = "Costs are amounts in USD, 0 or more.";
    else if (min !== null && max !== null && min > max) next.cost = "The minimum cost is above the maximum.";
    setErrors(next);
    if (Object.keys(next).length) return;
    onApply({ ...draft, label: labels });
  }

  // The bar is one line: search, environment, the other filters behind "More filters" (opened
  // while any of them is set or has an error), apply and clear.
  const hidden = draft.status.length + (draft.pipeline ? 1 : 0) + (draft.owner ? 1 : 0) + (draft.branch ? 1 : 0) +
    (labelText.trim() ? 1 : 0) + (draft.cost_min || draft.cost_max ? 1 : 0);
  const [moreOpen, setMoreOpen] = useState(false);
  const more = moreOpen || Boolean(errors.label || errors.cost);

  const field = (key: "pipeline" | "owner" | "branch", label: string, placeholder?: string) => (
    <div className="grid gap-1.5">
      <Label htmlFor={`${id}-${key}`}>{label}</Label>
      <Input
        id={`${id}-${key}`}
        type="text"
        value={draft[key]}
        placeholder={placeholder}
        className="h-8 w-44"
        onChange={(e) => set({ [key]: e.target.value })}
      />
    </div>
  );

  return (
    <form role="search" aria-label="Filter runs" onSubmit={submit} className="grid gap-2" noValidate>
      <div className="flex flex-wrap items-center gap-2">
        <Input
          aria-label="Search runs"
          type="search"
          value={draft.q}
          placeholder="Search runs…"
          className="h-8 w-60"
          onChange={(e) => set({ q: e.target.value })}
        />
        <NativeSelect aria-label="Environment" className="h-8 w-44" value={draft.env} onChange={(e) => set({ env: e.target.value })}>
          <option value="">All environments</option>
          {envNames.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </NativeSelect>
        <Button
          variant="outline"
          size="sm"
          aria-expanded={more}
          aria-controls={`${id}-more`}
          onClick={() => setMoreOpen(!more)}
        >
          <SlidersHorizontalIcon aria-hidden="true" />
          More filters{hidden ? ` (${hidden})` : ""}
        </Button>
        <Button type="submit" size="sm">
          Apply filters
        </Button>
        {active ? (
          <Button variant="ghost" size="sm" onClick={onClear}>
            Clear filters
          </Button>
        ) : null}
      </div>
      <div id={`${id}-more`} hidden={!more} className="grid gap-3 rounded-lg border p-3">
        <fieldset className="flex flex-wrap items-center gap-x-4 gap-y-2">
          <legend className="mb-1.5 text-sm font-medium">Status</legend>
          {RUN_STATUSES.map((s) => (
            <label key={s} className="flex items-center gap-1.5 text-sm">
              <input
                type="checkbox"
                className="size-4 accent-[var(--primary)]"
                checked={draft.status.includes(s)}
                onChange={(e) => set({ status: e.target.checked ? [...draft.status, s] : draft.status.filter((x) => x !== s) })}
              />
              {s}
            </label>
          ))}
        </fieldset>
        <div className="flex flex-wrap items-end gap-3">
          {field("pipeline", "Pipeline", "exact name")}
          {field("owner", "Owner", "username")}
          {field("branch", "Branch", "e.g. main")}
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-label`}>Labels</Label>
            <Input
              id={`${id}-label`}
              value={labelText}
              placeholder="team=web, tier=1"
              className="h-8 w-48"
              aria-invalid={errors.label ? true : undefined}
              aria-describedby={errors.label ? `${id}-label-err` : undefined}
              onChange={(e) => setLabelText(e.target.value)}
            />
          </div>
          <fieldset className="grid gap-1.5" aria-describedby={errors.cost ? `${id}-cost-err` : undefined}>
            <legend className="mb-1.5 text-sm leading-none font-medium">Cost (USD)</legend>
            <div className="flex items-center gap-1.5">
              <Input
                aria-label="Minimum cost in USD"
                type="number"
                min={0}
                step="any"
                inputMode="decimal"
                className="h-8 w-24"
                placeholder="min"
                value={draft.cost_min}
                aria-invalid={errors.cost ? true : undefined}
                onChange={(e) => set({ cost_min: e.target.value })}
              />
              <span aria-hidden="true">–</span>
              <Input
                aria-label="Maximum cost in USD"
                type="number"
                min={0}
                step="any"
                inputMode="decimal"
                className="h-8 w-24"
                placeholder="max"
                value={draft.cost_max}
                aria-invalid={errors.cost ? true : undefined}
                onChange={(e) => set({ cost_max: e.target.value })}
              />
            </div>
          </fieldset>
        </div>
        {errors.label ? (
          <p id={`${id}-label-err`} className="text-sm text-danger">
            {errors.label}
          </p>
        ) : null}
        {errors.cost ? (
          <p id={`${id}-cost-err`} className="text-sm text-danger">
            {errors.cost}
          </p>
        ) : null}
      </div>
    </form>
  );
}
