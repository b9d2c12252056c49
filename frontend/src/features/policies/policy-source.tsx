import { CopyButton } from "@/components/copy-button";
import { cn } from "@/lib/utils";
import { numberedLines } from "./policy-model";

/**
 * Rego source in a monospace block with line numbers. The numbers are decorative (hidden from
 * assistive tech and not selectable), so copying a selection copies the source only. The block
 * is a focusable, labelled region so keyboard users can scroll long lines sideways.
 */
export function PolicySource({ source, label, className }: { source: string; label: string; className?: string }) {
  const lines = numberedLines(source);
  const width = String(lines.length).length;
  return (
    <div className={cn("grid gap-2", className)}>
      <div
        role="region"
        aria-label={label}
        // A scrollable region must be focusable so keyboard users can scroll it (axe scrollable-region-focusable).
        // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
        tabIndex={0}
        className="max-h-[32rem] overflow-auto rounded-lg border bg-muted focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
        data-testid="policy-source"
      >
        <pre className="min-w-fit py-3 font-mono text-sm leading-6 [tab-size:4]">
          {lines.map(({ n, text }) => (
            <span key={n} className="flex">
              <span
                aria-hidden="true"
                className="sticky left-0 shrink-0 bg-muted pr-4 pl-3 text-right text-muted-foreground select-none"
                style={{ minWidth: `${width + 2.5}ch` }}
              >
                {n}
              </span>
              <code className="pr-4 whitespace-pre">{text || " "}</code>
            </span>
          ))}
        </pre>
      </div>
      <div>
        <CopyButton value={source} size="sm" label="Copy source" />
      </div>
    </div>
  );
}
