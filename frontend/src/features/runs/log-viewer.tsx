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

const LogRow = memo(function LogRow({
  line,
  showStep,
  selected,
  onSelect,
}: {
  line: LogLine;
  showStep: boolean;
  selected: boolean;
  onSelect: (anchor: string) => void;
}) {
  const anchor = lineAnchor(line);
  return (
    <div
      className={cn(
        "flex h-5 w-max min-w-full items-center pr-4 font-mono text-xs leading-5 whitespace-pre",
        selected && "log-line-selected",
        line.stream === "stderr" && "log-stream-stderr",
      )}
      data-anchor={anchor}
    >
      <a
        href={`#${anchor}`}
        className="sticky left-0 w-14 shrink-0 bg-[#0c0c0e] pr-3 text-right no-underline select-none hover:underline"
        aria-label={`Line ${line.n} of ${line.step}${line.attempt > 1 ? `, attempt ${line.attempt}` : ""}`}
        onClick={(e) => {
          e.preventDefault();
          onSelect(anchor);
        }}
      >
        {line.n}
      </a>
      {showStep ? (
        <span className="ansi-fg-8 w-40 shrink-0 truncate pr-3" title={line.step}>
          {line.step}
          {line.attempt > 1 ? ` #${line.attempt}` : ""}
        </span>
      ) : null}
      <span className={line.stream === "system" ? "ansi-fg-6" : undefined}>
        {segmentsOf(line).map((seg, i) => {
          const p = segmentProps(seg.style);
          return p.className || p.style ? (
            <span key={i} className={p.className || undefined} style={p.style}>
              {seg.text}
            </span>
          ) : (
            seg.text
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
  /** Index into `lines` to scroll to once (the permalinked line). */
  scrollToLine?: number | null;
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
  label = "Log lines",
  className,
}: LogViewerProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  // `version` stands for the in-place growth of `lines`.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const visible = useMemo(() => filterLines(lines, step), [lines, step, version]);
  const count = visible ? visible.length : lines.length;
  const at = (i: number) => lines[visible ? visible[i] : i];
  const [lastScrolled, setLastScrolled] = useState<number | null>(null);

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

  // Scroll to a permalinked line once it is loaded.
  useEffect(() => {
    if (scrollToLine == null || scrollToLine === lastScrolled) return;
    const idx = visible ? visible.indexOf(scrollToLine) : scrollToLine;
    if (idx < 0) return;
    virtualizer.scrollToIndex(idx, { align: "center" });
    setLastScrolled(scrollToLine);
  }, [scrollToLine, lastScrolled, visible, virtualizer]);

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
              <LogRow line={line} showStep={!step} selected={selected === lineAnchor(line)} onSelect={onSelect} />
            </div>
          );
        })}
      </div>
    </div>
  );
}
