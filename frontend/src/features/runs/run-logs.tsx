import { ChevronDownIcon, ChevronUpIcon, DownloadIcon, FilterIcon, ListEndIcon, XIcon } from "lucide-react";
import { useCallback, useDeferredValue, useEffect, useId, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useLocation, useNavigate, useSearchParams } from "react-router";
import { ErrorState } from "@/components/error-state";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import { hasLogs, isTerminalRun } from "./format";
import { commonKeys, fieldMatcher, fieldsOf, formatFieldFilter, parseFieldFilter, type FieldCondition } from "./log-fields";
import { findAnchored, findMatches, parseLineAnchor, stepMatch, visibleLines, type LogLine } from "./log-model";
import { LogViewer } from "./log-viewer";
import type { RunDetail } from "./queries";
import { useRunLogs } from "./use-run-logs";

/** How many of the latest shown lines the "fields in this log" suggestions are drawn from. */
const KEY_SAMPLE = 2000;

/** Binary search: position of line index `i` in the ascending `matches`, or -1. */
function positionOf(matches: readonly number[], i: number | null): number {
  if (i === null) return -1;
  let lo = 0;
  let hi = matches.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (matches[mid] === i) return mid;
    if (matches[mid] < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The parsed fields of the selected line, each a button that adds it to the field filter. */
function LineFields({ line, onFilter }: { line: LogLine; onFilter: (c: FieldCondition) => void }) {
  const fields = fieldsOf(line);
  if (!fields?.length) return null;
  return (
    <section aria-label={`Fields of line ${line.n} of ${line.step}`} className="grid gap-1.5 rounded-lg border p-3">
      <h3 className="text-xs font-medium text-muted-foreground">
        Fields of line {line.n} of {line.step} — choose one to keep only the lines that have it
      </h3>
      <ul className="flex flex-wrap gap-1.5">
        {fields.map(([key, value], i) => (
          <li key={`${key}\u0000${i}`}>
            <Button
              variant="outline"
              size="sm"
              className="h-auto max-w-md py-0.5 font-mono text-xs"
              aria-label={`Filter by ${key}=${value}`}
              onClick={() => onFilter({ key, op: "=", value })}
            >
              <span className="text-muted-foreground">{key}=</span>
              <span className="truncate">{value}</span>
            </Button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * The Logs tab: the whole run's output (or one step's), live while the run goes on, with "find in
 * log" (every match marked, next/previous with the buttons or Enter/Shift+Enter; "only matching
 * lines" asks the server, `?logq=`), a field filter over `key=value` and JSON lines (`?fields=`),
 * the step filter (`?step=`), line permalinks (`#L<step>-<n>`) and a download of the NDJSON as the
 * API serves it. stderr lines carry a red rule and the marker "err".
 */
export function RunLogs({ run }: { run: RunDetail }) {
  const [params] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const id = useId();
  const step = params.get("step") || null;
  const q = params.get("logq") ?? "";
  const fieldsText = params.get("fields") ?? "";
  const [find, setFind] = useState(q);
  const deferredFind = useDeferredValue(find);
  const [draftFields, setDraftFields] = useState(fieldsText);
  // The URL's filter changed (cleared, a permalink, history): the input shows it (state adjusted during render).
  const [appliedFields, setAppliedFields] = useState(fieldsText);
  if (appliedFields !== fieldsText) {
    setAppliedFields(fieldsText);
    setDraftFields(fieldsText);
  }
  const fieldsInput = useRef<HTMLInputElement>(null);
  const live = !isTerminalRun(run.status);
  const logs = useRunLogs(run.id, { live, q });
  const [follow, setFollow] = useState(!location.hash);
  const [current, setCurrent] = useState<number | null>(null);
  const [scrollSeq, setScrollSeq] = useState(0);

  const { conditions, invalid } = useMemo(() => parseFieldFilter(fieldsText), [fieldsText]);
  const keep = useMemo(() => {
    if (!conditions.length) return null;
    const match = fieldMatcher(conditions);
    return (l: LogLine) => match(fieldsOf(l));
  }, [conditions]);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `version` stands for the buffer's growth
  const visible = useMemo(() => visibleLines(logs.lines, step, keep), [logs.lines, logs.version, step, keep]);
  const shown = visible?.length ?? logs.lines.length;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const matches = useMemo(() => findMatches(logs.lines, visible, deferredFind.trim()), [logs.lines, logs.version, visible, deferredFind]);
  const position = positionOf(matches, current);
  const keys = useMemo(() => {
    const idx = visible ?? logs.lines.map((_, i) => i);
    return commonKeys(idx.slice(-KEY_SAMPLE).map((i) => logs.lines[i]), 12);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [logs.lines, logs.version, visible]);

  const anchor = location.hash ? parseLineAnchor(location.hash) : null;
  const selected = anchor ? location.hash.slice(1) : null;
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `version` stands for the buffer's growth
  const anchoredIndex = useMemo(() => (anchor ? findAnchored(logs.lines, anchor) : -1), [logs.lines, logs.version, location.hash]);
  const selectedLine = anchoredIndex >= 0 ? logs.lines[anchoredIndex] : null;

  /** Sets (or with null removes) query parameters, keeping the selected line's #anchor. */
  const setQuery = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    navigate({ pathname: location.pathname, search: `?${next.toString()}`, hash: location.hash }, { replace: true });
  };
  const setParam = (key: string, value: string | null) => setQuery({ [key]: value });

  // Arriving at a permalink to a line the step or field filter hides: show every line (once per
  // permalink: a filter applied afterwards may hide the selected line).
  const revealed = useRef<string | null>(null);
  const hiddenByFilter = anchoredIndex >= 0 && visible !== null && !visible.includes(anchoredIndex);
  useEffect(() => {
    if (anchoredIndex < 0 || revealed.current === location.hash) return;
    revealed.current = location.hash;
    if (hiddenByFilter) setQuery({ step: null, fields: null });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [anchoredIndex, location.hash]);

  // Stable across renders so that the memoized log rows do not all re-render on each update.
  const { pathname, search: locationSearch } = location;
  const selectLine = useCallback(
    (a: string) => {
      setFollow(false);
      navigate({ pathname, search: locationSearch, hash: a }, { replace: true });
    },
    [navigate, pathname, locationSearch],
  );

  function goTo(direction: 1 | -1) {
    const next = stepMatch(matches.length, position, direction);
    if (next < 0) return;
    setFollow(false);
    setCurrent(matches[next]);
    setScrollSeq((n) => n + 1);
  }

  function onFindKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key !== "Enter") return;
    e.preventDefault();
    if (q && find.trim() !== q) {
      setOnlyMatching(Boolean(find.trim())); // only matching lines of the new text
      return;
    }
    goTo(e.shiftKey ? -1 : 1);
  }

  function setOnlyMatching(on: boolean) {
    setCurrent(null);
    setParam("logq", on ? find.trim() || null : null);
  }

  function applyFields(e: FormEvent) {
    e.preventDefault();
    setCurrent(null);
    setParam("fields", draftFields.trim() || null);
  }

  function addCondition(c: FieldCondition) {
    const next = formatFieldFilter([...conditions.filter((x) => x.key.toLowerCase() !== c.key.toLowerCase()), c]);
    setDraftFields(next);
    setCurrent(null);
    setParam("fields", next);
  }

  function clearFields() {
    setDraftFields("");
    setCurrent(null);
    setParam("fields", null);
  }

  const download = new URLSearchParams();
  if (step) download.set("step", step);
  if (q) download.set("q", q);
  const downloadHref = `/api/runs/${encodeURIComponent(run.id)}/logs${download.toString() ? `?${download.toString()}` : ""}`;
  const fileName = `${run.workflowId}${step ? `-${step.replace(/[^A-Za-z0-9._-]+/g, "_")}` : ""}${q ? "-search" : ""}.ndjson`;

  const filtered = step !== null || conditions.length > 0;
  const statusText =
    logs.state === "loading"
      ? `Loading… ${logs.lines.length} lines so far`
      : `${shown}${filtered ? ` of ${logs.lines.length}` : ""} line${shown === 1 ? "" : "s"}${q ? ` containing “${q}”` : ""}${
          conditions.length ? ` with ${formatFieldFilter(conditions)}` : ""
        }${live && !q ? (logs.stream === "open" ? " · live" : " · connecting to the live stream…") : ""}`;
  const findTerm = deferredFind.trim();
  const findText = !findTerm
    ? ""
    : matches.length === 0
      ? "No matches"
      : position >= 0
        ? `${position + 1} of ${matches.length}`
        : `${matches.length} match${matches.length === 1 ? "" : "es"}`;

  return (
    <div className="grid gap-3">
      <div className="flex flex-wrap items-end gap-3">
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-step`}>Step</Label>
          <NativeSelect id={`${id}-step`} className="w-56" value={step ?? ""} onChange={(e) => setParam("step", e.target.value || null)}>
            <option value="">All steps</option>
            {run.steps
              .filter(hasLogs)
              .map((s) => (
                <option key={s.key} value={s.key}>
                  {s.name && s.name !== s.key ? `${s.name} (${s.key})` : s.key}
                </option>
              ))}
          </NativeSelect>
        </div>
        <div role="search" aria-label="Find in the log" className="flex flex-wrap items-end gap-2">
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-find`}>Find</Label>
            <Input
              id={`${id}-find`}
              type="search"
              className="w-56"
              value={find}
              onChange={(e) => {
                setFind(e.target.value);
                setCurrent(null);
              }}
              onKeyDown={onFindKey}
              placeholder="text in a line"
              aria-describedby={`${id}-find-count ${id}-find-keys`}
            />
            <span id={`${id}-find-keys`} className="sr-only">
              Enter goes to the next match, Shift+Enter to the previous one.
            </span>
          </div>
          <Button variant="outline" size="icon" aria-label="Previous match (Shift+Enter)" disabled={!matches.length} onClick={() => goTo(-1)}>
            <ChevronUpIcon aria-hidden="true" />
          </Button>
          <Button variant="outline" size="icon" aria-label="Next match (Enter)" disabled={!matches.length} onClick={() => goTo(1)}>
            <ChevronDownIcon aria-hidden="true" />
          </Button>
          <span id={`${id}-find-count`} className="min-w-24 pb-2 text-sm tabular-nums text-muted-foreground" aria-live="polite" data-testid="find-count">
            {findText}
          </span>
          <div className="flex items-center gap-2 pb-2">
            <Checkbox
              id={`${id}-only`}
              checked={Boolean(q)}
              disabled={!q && !find.trim()}
              onCheckedChange={(v) => setOnlyMatching(v === true)}
            />
            <Label htmlFor={`${id}-only`} className="font-normal">
              Only matching lines
            </Label>
          </div>
        </div>
        <div className="ml-auto flex flex-wrap gap-2">
          {live && !q ? (
            <Button variant="outline" aria-pressed={follow} onClick={() => setFollow((f) => !f)}>
              <ListEndIcon aria-hidden="true" /> {follow ? "Following output" : "Follow output"}
            </Button>
          ) : null}
          <Button asChild variant="outline">
            <a href={downloadHref} download={fileName}>
              <DownloadIcon aria-hidden="true" /> Download{step || q ? " these lines" : " log"}
            </a>
          </Button>
        </div>
      </div>
      <form aria-label="Filter by fields" onSubmit={applyFields} className="flex flex-wrap items-end gap-2">
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-fields`}>Field filter</Label>
          <Input
            ref={fieldsInput}
            id={`${id}-fields`}
            className="w-80 font-mono"
            value={draftFields}
            onChange={(e) => setDraftFields(e.target.value)}
            placeholder="level=error status=5*"
            aria-describedby={`${id}-fields-help`}
            aria-invalid={invalid.length > 0 || undefined}
          />
        </div>
        <Button type="submit" variant="outline">
          <FilterIcon aria-hidden="true" /> Apply
        </Button>
        {fieldsText ? (
          <Button type="button" variant="ghost" onClick={clearFields}>
            <XIcon aria-hidden="true" /> Clear fields
          </Button>
        ) : null}
        <p id={`${id}-fields-help`} className="basis-full text-xs text-muted-foreground">
          {invalid.length ? (
            <span className="text-danger">
              Not a key=value condition: {invalid.join(", ")}.{" "}
            </span>
          ) : null}
          Keeps the lines whose <code>key=value</code> or JSON fields match every condition (nested JSON keys joined with
          dots, <code>!=</code> to exclude, <code>*</code> as a wildcard).
        </p>
        {keys.length ? (
          <div className="flex basis-full flex-wrap items-center gap-1.5 text-xs">
            <span className="text-muted-foreground">Fields in this log:</span>
            {keys.map((k) => (
              <Button
                key={k}
                type="button"
                variant="secondary"
                size="sm"
                className="h-6 px-2 font-mono text-xs"
                aria-label={`Add a condition on ${k}`}
                onClick={() => {
                  const text = `${draftFields.trim()}${draftFields.trim() ? " " : ""}${k}=`;
                  setDraftFields(text);
                  fieldsInput.current?.focus();
                }}
              >
                {k}
              </Button>
            ))}
          </div>
        ) : null}
      </form>
      <p className="text-sm text-muted-foreground" role="status" aria-live="polite" data-testid="log-status">
        {statusText}
      </p>
      {logs.state === "error" ? (
        <ErrorState error={logs.error} title="Could not load the log" />
      ) : logs.state === "loading" && logs.lines.length === 0 ? (
        <div className="grid gap-2 rounded-lg border p-3" aria-busy="true">
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} className="h-4 w-full max-w-xl" />
          ))}
        </div>
      ) : logs.lines.length === 0 ? (
        <div className="rounded-lg border border-dashed p-6 text-center text-sm text-muted-foreground">
          {q
            ? `No line contains “${q}”.`
            : live
              ? "No output yet: lines appear here as soon as a step prints them."
              : "This run printed nothing."}
        </div>
      ) : shown === 0 && conditions.length ? (
        <div className="grid justify-items-center gap-2 rounded-lg border border-dashed p-6 text-center text-sm text-muted-foreground">
          <p>
            No line{step ? ` of ${step}` : ""} has fields matching <code>{formatFieldFilter(conditions)}</code>.
          </p>
          <Button variant="outline" size="sm" onClick={clearFields}>
            <XIcon aria-hidden="true" /> Clear the field filter
          </Button>
        </div>
      ) : (
        <LogViewer
          lines={logs.lines}
          version={logs.version}
          step={step}
          visible={visible}
          selected={selected}
          highlight={findTerm}
          currentMatch={position >= 0 ? current : null}
          follow={follow && live && !q && anchoredIndex < 0 && current === null}
          onFollowChange={live && !q ? setFollow : undefined}
          scrollToLine={position >= 0 ? current : anchoredIndex >= 0 ? anchoredIndex : null}
          scrollSeq={scrollSeq}
          onSelect={selectLine}
          label={`Log of ${run.pipelineName} #${run.number}${step ? `, step ${step}` : ""}`}
        />
      )}
      {selectedLine ? <LineFields line={selectedLine} onFilter={addCondition} /> : null}
    </div>
  );
}
