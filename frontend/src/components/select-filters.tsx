import { useId, type ReactNode } from "react";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";

export type SelectFilterOption = string | { value: string; label: string };

export interface SelectFilterProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** The first option, with the empty value: "no filter". */
  anyLabel: string;
  options: readonly SelectFilterOption[];
  /** The select's width (e.g. `w-40`). */
  className?: string;
}

/** One labelled select of a filter bar; its empty first option means "any". */
export function SelectFilter({ label, value, onChange, anyLabel, options, className }: SelectFilterProps) {
  const id = useId();
  return (
    <div className="grid gap-1.5">
      <Label htmlFor={id}>{label}</Label>
      <NativeSelect id={id} className={className} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{anyLabel}</option>
        {options.map((o) => {
          const { value: v, label: l } = typeof o === "string" ? { value: o, label: o } : o;
          return (
            <option key={v} value={v}>
              {l}
            </option>
          );
        })}
      </NativeSelect>
    </div>
  );
}

/**
 * The row of filters above a list that applies each change at once (useUrlFilters), ending with
 * "Clear filters" while any is set.
 */
export function FilterGroup({
  label,
  active,
  onClear,
  children,
}: {
  label: string;
  active: boolean;
  onClear: () => void;
  children: ReactNode;
}) {
  return (
    <div role="group" aria-label={label} className="flex flex-wrap items-end gap-3">
      {children}
      {active ? (
        <Button variant="ghost" onClick={onClear}>
          Clear filters
        </Button>
      ) : null}
    </div>
  );
}
