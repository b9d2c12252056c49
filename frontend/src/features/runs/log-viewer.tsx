import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useMemo, useRef, useState, type UIEvent } from "react";
import { parseAnsi, segmentProps, type AnsiSegment } from "@/lib/ansi";
import { cn } from "@/lib/utils";
import { filterLines, lineAnchor, type LogLine } from "./log-model";

const ROW_HEIGHT = 20;
const segmentCache = new WeakMap<LogLine, AnsiSegment[]>();

function segmentsOf(l: LogLine): AnsiSegment[] {
  let s = segmentCache.get(l);
  if (!s) {
    s = parseAnsi(l.line).segments;
    segmentCache.set(l, s);
  }
  return s;
}

/** The segments with every case-insensitive occurrence of `query` wrapped in <mark> (across colour changes). */
function markMatches(segments: readonly AnsiSegment[], query: string): { seg: AnsiSegment; mark: boolean }[] {
  const plain = segments.map((s) => s.text).join("").toLowerCase();
  const ranges: [number, number][] = [];
  for (let at = plain.indexOf(query); query && at >= 0; at = plain.indexOf(query, at + query.length)) ranges.push([at, at + query.length]);
  if (!ranges.length) return segments.map((seg) => ({ seg, mark: false }));
  const out: { seg: AnsiSegment; mark: boolean }[] = [];
  let pos = 0;
  for (const seg of segments) {
    const end = pos + seg.text.length;
    let cut = pos;
    for (const [a, b] of ranges) {
      if (b <= cut || a >= end) continue;
      if (a > cut) out.push({ seg: { ...seg, text: seg.text.slice(cut - pos, a - pos) }, mark: false });
      const to = Math.min(b, end);
      out.push({ seg: { ...seg, text: seg.text.slice(Math.max(a, cut) - pos, to - pos) }, mark: true });
      cut = to;
    }
    if (cut < end) out.push({ seg: { ...seg, text: seg.text.slice(cut - pos) }, mark: false });
    pos = end;
  }
  return out;
}

/** What marks a line's stream where colour is not seen: stderr and system lines carry a word. */
const STREAM_MARKER: Record<string, { text: string; title: string }> = {
  stderr: { text: "err", title: "Written to stderr" },
  system: { text: "sys", title: "Written by Maestro" },
};

const LogRow = memo(function LogRow({
  line,
  showStep,
  selected,
  onSelect,
  highlight,
  current,
}: {
  line: LogLine;
  showStep: boolean;
  selected: boolean;
  onSelect: (anchor: string) => void;
  /** Lower-cased text to mark in the line ("find in log"). */
  highlight: string;
  /** The current find match. */
  current: boolean;
}) {
  const anchor = lineAnchor(line);
  const marker = STREAM_MARKER[line.stream];
  const parts = highlight ? markMatches(segmentsOf(line), highlight) : segmentsOf(line).map((seg) => ({ seg, mark: false }));
  return (
    <div
      className={cn(
        "flex h-5 w-max min-w-full items-center pr-4 font-mono text-xs leading-5 whitespace-pre",
        selected && "log-line-selected",
        line.stream === "stderr" && "log-stream-stderr",
        current && "log-line-current",
      )}
      data-anchor={anchor}
      data-stream={line.stream}
      aria-current={current ? "true" : undefined}
    >
      <a
        href={`#${anchor}`}
        className="sticky left-0 w-14 shrink-0 bg-[#0c0c0e] pr-3 text-right no-underline select-none hover:underline"
        aria-label={`Line ${line.n} of ${line.step}${line.attempt > 1 ? `, attempt ${line.attempt}` : ""}${line.stream === "stderr" ? ", stderr" : ""}`}
        onClick={(e) => {
          e.preventDefault();
          onSelect(anchor);
        }}
      >
        {line.n}
      </a>
      <span className={cn("log-stream-marker w-8 shrink-0 pr-2 select-none", marker && `log-stream-marker-${line.stream}`)} title={marker?.title}>
        {marker?.text ?? ""}
      </span>
      {showStep ? (
        <span className="ansi-fg-8 w-40 shrink-0 truncate pr-3" title={line.step}>
          {line.step}
          {line.attempt > 1 ? ` #${line.attempt}` : ""}
        </span>
      ) : null}
      <span className={line.stream === "system" ? "ansi-fg-6" : undefined}>
        {parts.map(({ seg, mark }, i) => {
          const p = segmentProps(seg.style);
          const inner =
            p.className || p.style ? (
              <span key={i} className={p.className || undefined} style={p.style}>
                {seg.text}
              </span>
            ) : (
              seg.text
            );
          return mark ? (
            <mark key={i} className="log-match">
              {inner}
            </mark>
          ) : (
            inner
          );
        })}
      </span>
    </div>
  );
});

export interface LogViewerProps {
  lines: readonly LogLine[];
  /** Changes whenever `lines` grew (the array itself is appended to in place). */
  version: number;
  /** Show only this step's lines (null: every step, with a step column). */
  step: string | null;
  /** The selected line's permalink anchor (without `#`), highlighted and scrolled to. */
  selected: string | null;
  onSelect: (anchor: string) => void;
  /** Keep the newest line in view as lines arrive (until the user scrolls up). */
  follow: boolean;
  onFollowChange?: (follow: boolean) => void;
  /** Index into `lines` to scroll to once (the permalinked line, the current find match). */
  scrollToLine?: number | null;
  /** Changes to scroll to `scrollToLine` again (the user asked for the same match again). */
  scrollSeq?: number;
  /** Indices into `lines` of the rows shown (step and field filters applied by the caller); default: the step filter. */
  visible?: readonly number[] | null;
  /** Text to mark in every row ("find in log", case-insensitive). */
  highlight?: string;
  /** Index into `lines` of the current find match (marked and announced as current). */
  currentMatch?: number | null;
  label?: string;
  className?: string;
}

/**
 * A virtualized log: only the rows in view (plus a few) exist in the DOM, so 100k+ lines scroll
 * smoothly. Rows have a fixed height (no wrapping; long lines scroll sideways).
 */
export function LogViewer({
  lines,
  version,
  step,
  selected,
  onSelect,
  follow,
  onFollowChange,
  scrollToLine,
  scrollSeq = 0,
  visible: visibleProp,
  highlight = "",
  currentMatch = null,
  label = "Log lines",
  className,
}: LogViewerProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  // `version` stands for the in-place growth of `lines`.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const stepVisible = useMemo(() => (visibleProp === undefined ? filterLines(lines, step) : null), [lines, step, version, visibleProp]);
  const visible = visibleProp === undefined ? stepVisible : visibleProp;
  const mark = highlight.toLowerCase();
  const count = visible ? visible.length : lines.length;
  const at = (i: number) => lines[visible ? visible[i] : i];
  const [lastScrolled, setLastScrolled] = useState<string | null>(null);

  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is read during render by design
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
    initialRect: { width: 800, height: 480 },
  });

  // Tail the log while following.
  useEffect(() => {
    if (follow && count > 0 && scrollToLine == null) virtualizer.scrollToIndex(count - 1, { align: "end" });
  }, [follow, count, version, virtualizer, scrollToLine]);

  // Scroll to a permalinked line (or a find match) once it is loaded.
  useEffect(() => {
    const key = `${scrollToLine}:${scrollSeq}`;
    if (scrollToLine == null || key === lastScrolled) return;
    const idx = visible ? visible.indexOf(scrollToLine) : scrollToLine;
    if (idx < 0) return;
    virtualizer.scrollToIndex(idx, { align: "center" });
    setLastScrolled(key);
  }, [scrollToLine, scrollSeq, lastScrolled, visible, virtualizer]);

  function onScroll(e: UIEvent<HTMLDivElement>) {
    if (!onFollowChange) return;
    const el = e.currentTarget;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 2;
    if (follow && !atBottom) onFollowChange(false);
    else if (!follow && atBottom && scrollToLine == null) onFollowChange(true);
  }

  const items = virtualizer.getVirtualItems();
  return (
    <div
      ref={scrollRef}
      role="region"
      aria-label={label}
      // A scrollable region must be focusable so keyboard users can scroll it (axe scrollable-region-focusable).
      // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
      tabIndex={0}
      onScroll={onScroll}
      className={cn("log-surface relative h-[60vh] min-h-72 overflow-auto rounded-lg border py-1 focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none", className)}
      data-testid="log-viewer"
      data-line-count={count}
    >
      <div className="relative w-max min-w-full" style={{ height: virtualizer.getTotalSize() }}>
        {items.map((v) => {
          const line = at(v.index);
          if (!line) return null;
          return (
            <div key={v.key} className="absolute top-0 left-0 w-max min-w-full" style={{ transform: `translateY(${v.start}px)` }}>
              <LogRow
                line={line}
                showStep={!step}
                selected={selected === lineAnchor(line)}
                onSelect={onSelect}
                highlight={mark}
                current={currentMatch !== null && lines[currentMatch] === line}
              />
            </div>
          );
        })}
      </div>
    </div>
  );
}
