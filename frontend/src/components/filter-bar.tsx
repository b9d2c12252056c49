import { useId, useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";

export interface FilterField<K extends string> {
  key: K;
  label: string;
  type?: "text" | "search" | "datetime-local";
  placeholder?: string;
}

export interface FilterBarProps<K extends string> {
  fields: FilterField<K>[];
  values: Record<K, string>;
  onApply: (values: Record<K, string>) => void;
  onClear: () => void;
  active: boolean;
  label: string;
}

/**
 * The filter form above a DataTable. Edits are local until applied; applying writes them to
 * the URL (useUrlFilters). Remount it with `key={signature}` so back/forward resets the drafts.
 */
export function FilterBar<K extends string>({ fields, values, onApply, onClear, active, label }: FilterBarProps<K>) {
  const [draft, setDraft] = useState<Record<K, string>>(values);
  const baseId = useId();
  function submit(e: FormEvent) {
    e.preventDefault();
    onApply(draft);
  }
  return (
    <form role="search" aria-label={label} onSubmit={submit} className="flex flex-wrap items-end gap-3">
      {fields.map((f) => (
        <div key={f.key} className="grid gap-1.5">
          <Label htmlFor={`${baseId}-${f.key}`}>{f.label}</Label>
          <Input
            id={`${baseId}-${f.key}`}
            type={f.type ?? "text"}
            value={draft[f.key]}
            placeholder={f.placeholder}
            className="w-52"
            onChange={(e) => setDraft((d) => ({ ...d, [f.key]: e.target.value }))}
          />
        </div>
      ))}
      <div className="flex gap-2">
        <Button type="submit">Apply filters</Button>
        {active ? (
          <Button variant="ghost" onClick={onClear}>
            Clear filters
          </Button>
        ) : null}
      </div>
    </form>
  );
}
