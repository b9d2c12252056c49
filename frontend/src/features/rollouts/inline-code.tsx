import type { ReactNode } from "react";

/**
 * Text with Markdown inline code spans (`maestro edge`), as the providers' JSON Schema descriptions
 * are written: each span becomes a <code>, the rest stays text. Only single backticks; an unpaired
 * one is kept as typed. No HTML is interpreted.
 */
export function InlineCode({ text }: { text: string }): ReactNode {
  const parts = text.split("`");
  // an odd number of parts means the backticks pair up; otherwise the last one is a stray
  if (parts.length < 3) return text;
  const paired = parts.length % 2 === 1 ? parts : [...parts.slice(0, -2), `${parts.at(-2)}\`${parts.at(-1)}`];
  return (
    <>
      {paired.map((p, i) =>
        i % 2 === 1 ? (
          <code key={i} className="rounded bg-muted px-1 font-mono text-[0.85em]">
            {p}
          </code>
        ) : (
          p
        ),
      )}
    </>
  );
}

