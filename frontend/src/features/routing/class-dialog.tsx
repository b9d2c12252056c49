import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { PlusIcon, Trash2Icon } from "lucide-react";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { routingClassesPutMutation } from "@/client/@tanstack/react-query.gen";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { NativeSelect } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import type { FieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import {
  apiFieldErrors,
  buildClassBody,
  candidateKey,
  DIMENSION_HINTS,
  DIMENSION_LABELS,
  draftFromClass,
  emptyCandidate,
  NAME_HINT,
  SCORE_DIMENSIONS,
  type CandidateDraft,
  type ClassDraft,
  type RoutingClass,
} from "./model";
import { invalidateClasses, providersQueryOptions } from "./queries";

export function ClassDialog({
  open,
  onOpenChange,
  cls = null,
  onSaved,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The class to change; null creates one. */
  cls?: RoutingClass | null;
  onSaved?: (cls: RoutingClass) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {/* Mounted only while open: every opening starts from the class (or empty). */}
      {open ? <ClassForm cls={cls} onDone={() => onOpenChange(false)} onSaved={onSaved} /> : null}
    </Dialog>
  );
}

const KNOWN_FIELDS = /^(name|description|models|match(\..*)?|candidates(\..*)?|downgradeTo|priority|weights\..*)$/;

function CandidateRow({
  index,
  value,
  providers,
  errors,
  onChange,
  onRemove,
}: {
  index: number;
  value: CandidateDraft;
  providers: string[];
  errors: FieldErrors;
  onChange: (next: CandidateDraft) => void;
  onRemove: (() => void) | null;
}) {
  const err = (k: string) => errors[`candidates.${index}.${k}`];
  const rowError = errors[`candidates.${index}`] ?? errors[`candidates.${index}.price`];
  const options = providers.includes(value.provider) || !value.provider ? providers : [value.provider, ...providers];
  return (
    <fieldset className="grid gap-3 rounded-md border p-3" data-testid="candidate-row">
      <legend className="px-1 text-sm font-medium">Candidate {index + 1}</legend>
      <div className="grid gap-3 sm:grid-cols-2">
        <FormField label="Provider" error={err("provider")}>
          {(p) => (
            <NativeSelect {...p} value={value.provider} onChange={(e) => onChange({ ...value, provider: e.target.value })}>
              <option value="">Choose a provider</option>
              {options.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </NativeSelect>
          )}
        </FormField>
        <FormField label="Model" error={err("model")} hint="The name the provider knows.">
          {(p) => (
            <Input {...p} value={value.model} onChange={(e) => onChange({ ...value, model: e.target.value })} autoComplete="off" placeholder="gpt-4o-mini" />
          )}
        </FormField>
        <FormField label="Input price (USD per 1M tokens)" error={err("price.input")}>
          {(p) => (
            <Input
              {...p}
              type="number"
              inputMode="decimal"
              min={0}
              step="any"
              value={value.priceInput}
              onChange={(e) => onChange({ ...value, priceInput: e.target.value })}
            />
          )}
        </FormField>
        <FormField label="Output price (USD per 1M tokens)" error={err("price.output")}>
          {(p) => (
            <Input
              {...p}
              type="number"
              inputMode="decimal"
              min={0}
              step="any"
              value={value.priceOutput}
              onChange={(e) => onChange({ ...value, priceOutput: e.target.value })}
            />
          )}
        </FormField>
      </div>
      {rowError ? <p className="text-sm text-danger">{rowError}</p> : null}
      {onRemove ? (
        <div>
          <Button variant="ghost" size="sm" onClick={onRemove} aria-label={`Remove candidate ${index + 1}`}>
            <Trash2Icon aria-hidden="true" />
            Remove
          </Button>
        </div>
      ) : null}
    </fieldset>
  );
}

function ClassForm({ cls, onDone, onSaved }: { cls: RoutingClass | null; onDone: () => void; onSaved?: (cls: RoutingClass) => void }) {
  const providers = useQuery(providersQueryOptions());
  if (providers.isPending) {
    return (
      <DialogContent className="sm:max-w-2xl" aria-describedby={undefined}>
        <DialogHeader>
          <DialogTitle>{cls ? `Edit class ${cls.name}` : "New class"}</DialogTitle>
        </DialogHeader>
        <div className="grid gap-2" aria-busy="true">
          <span className="sr-only" role="status">
            Loading the providers…
          </span>
          <Skeleton className="h-9 w-full" />
          <Skeleton className="h-32 w-full" />
        </div>
      </DialogContent>
    );
  }
  return (
    <ClassFormBody
      cls={cls}
      providerNames={(providers.data?.items ?? []).map((p) => p.name)}
      providersError={providers.error}
      onDone={onDone}
      onSaved={onSaved}
    />
  );
}

function ClassFormBody({
  cls,
  providerNames,
  providersError,
  onDone,
  onSaved,
}: {
  cls: RoutingClass | null;
  providerNames: string[];
  providersError: unknown;
  onDone: () => void;
  onSaved?: (cls: RoutingClass) => void;
}) {
  const queryClient = useQueryClient();
  const firstProvider = providerNames[0] ?? "";
  // a new class starts with one candidate at the first provider
  const [draft, setDraft] = useState<ClassDraft>(() => draftFromClass(cls, firstProvider));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [checked, setChecked] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  const candidatesId = useId();
  const editing = cls !== null;

  // After a check that found problems (here or at the API), focus the first field that has one.
  useEffect(() => {
    if (!checked) return;
    formRef.current?.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
  }, [checked]);

  const save = useMutation({
    ...routingClassesPutMutation(),
    onSuccess: (saved) => {
      toast({
        title: editing ? "Class saved" : "Class created",
        description: `${saved.name}: ${saved.candidates.length} candidate${saved.candidates.length === 1 ? "" : "s"}; gateways apply it within their refresh interval.`,
        variant: "success",
      });
      onSaved?.(saved);
      onDone();
    },
    onError: (e) => {
      setErrors(apiFieldErrors(e));
      setChecked((n) => n + 1);
    },
    onSettled: () => invalidateClasses(queryClient),
  });

  function set<K extends keyof ClassDraft>(key: K, value: ClassDraft[K]) {
    setDraft((d) => ({ ...d, [key]: value }));
  }

  function setCandidate(i: number, next: CandidateDraft) {
    setDraft((d) => ({ ...d, candidates: d.candidates.map((c, j) => (j === i ? next : c)) }));
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const { body, errors: local } = buildClassBody(draft, cls);
    setErrors(local);
    if (Object.keys(local).length) {
      setChecked((n) => n + 1);
      return;
    }
    save.mutate({ path: { name: draft.name.trim() }, body });
  }

  const keys = draft.candidates.filter((c) => c.provider && c.model.trim()).map((c) => candidateKey({ provider: c.provider, model: c.model.trim() }));
  const downgradeOptions = [...new Set(draft.downgradeTo && !keys.includes(draft.downgradeTo) ? [draft.downgradeTo, ...keys] : keys)];
  const otherError = save.error && !Object.keys(apiFieldErrors(save.error)).some((k) => KNOWN_FIELDS.test(k));

  return (
    <DialogContent className="sm:max-w-2xl">
      <form ref={formRef} onSubmit={submit} className="grid max-h-[80vh] gap-4 overflow-y-auto p-0.5" noValidate>
        <DialogHeader>
          <DialogTitle>{editing ? `Edit class ${cls.name}` : "New class"}</DialogTitle>
          <DialogDescription>
            A class takes the requests for the models it matches and sends each to the best of its candidates (a provider and a
            model with its price card), failing over to the next one when a provider fails.
          </DialogDescription>
        </DialogHeader>
        <FormField label="Name (required)" error={errors.name} hint={editing ? "A class keeps its name." : `${NAME_HINT} e.g. “chat”.`}>
          {(p) => (
            <Input {...p} value={draft.name} onChange={(e) => set("name", e.target.value)} autoComplete="off" readOnly={editing} required />
          )}
        </FormField>
        <FormField
          label="Models it matches"
          error={errors.models ?? errors["match.models"] ?? errors.match}
          hint="The model names or aliases clients send, separated by commas (end with * for a prefix, e.g. gpt-4o*). Empty: every model."
        >
          {(p) => <Input {...p} value={draft.models} onChange={(e) => set("models", e.target.value)} autoComplete="off" placeholder="fast, gpt-4o*" />}
        </FormField>
        <FormField label="Description" error={errors.description}>
          {(p) => <Input {...p} value={draft.description} onChange={(e) => set("description", e.target.value)} autoComplete="off" />}
        </FormField>
        <section aria-labelledby={candidatesId} className="grid gap-3">
          <h3 id={candidatesId} className="text-sm font-semibold">
            Candidates
          </h3>
          {!providersError && !providerNames.length ? (
            <p className="text-sm text-danger">No provider exists yet: create one on the Providers tab first.</p>
          ) : null}
          {providersError ? <ErrorState error={providersError} title="Could not load the providers" compact /> : null}
          {draft.candidates.map((c, i) => (
            <CandidateRow
              key={i}
              index={i}
              value={c}
              providers={providerNames}
              errors={errors}
              onChange={(next) => setCandidate(i, next)}
              onRemove={draft.candidates.length > 1 ? () => set("candidates", draft.candidates.filter((_, j) => j !== i)) : null}
            />
          ))}
          {errors.candidates ? <p className="text-sm text-danger">{errors.candidates}</p> : null}
          <div>
            <Button variant="outline" size="sm" onClick={() => set("candidates", [...draft.candidates, emptyCandidate(firstProvider)])}>
              <PlusIcon aria-hidden="true" />
              Add candidate
            </Button>
          </div>
        </section>
        <FormField
          label="Downgrade to (optional)"
          error={errors.downgradeTo}
          hint="A cheaper candidate taken while the class is downgraded (the switch on the class's page; budgets use it too)."
        >
          {(p) => (
            <NativeSelect {...p} value={draft.downgradeTo} onChange={(e) => set("downgradeTo", e.target.value)}>
              <option value="">No downgrade path</option>
              {downgradeOptions.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </NativeSelect>
          )}
        </FormField>
        <fieldset className="grid gap-3 rounded-md border p-3">
          <legend className="px-1 text-sm font-medium">Score weights</legend>
          <p className="text-sm text-muted-foreground">
            How much each dimension counts in a candidate&apos;s score (0 ignores it). A pin or the downgrade switch overrides the
            score.
          </p>
          <div className="grid gap-3 sm:grid-cols-4">
            {SCORE_DIMENSIONS.map((d) => (
              <FormField key={d} label={DIMENSION_LABELS[d]} error={errors[`weights.${d}`]}>
                {(p) => (
                  <Input
                    {...p}
                    type="number"
                    inputMode="decimal"
                    min={0}
                    max={100}
                    step="any"
                    title={DIMENSION_HINTS[d]}
                    value={draft.weights[d]}
                    onChange={(e) => set("weights", { ...draft.weights, [d]: e.target.value })}
                  />
                )}
              </FormField>
            ))}
          </div>
          <FormField label="Priority" error={errors.priority} hint="Classes are matched in priority order, lower first.">
            {(p) => <Input {...p} type="number" inputMode="numeric" min={0} step={1} className="w-32" value={draft.priority} onChange={(e) => set("priority", e.target.value)} />}
          </FormField>
        </fieldset>
        {otherError ? <ErrorState error={save.error} title={editing ? "Could not save the class" : "Could not create the class"} compact /> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" disabled={save.isPending}>
            {save.isPending ? "Saving…" : editing ? "Save class" : "Create class"}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
