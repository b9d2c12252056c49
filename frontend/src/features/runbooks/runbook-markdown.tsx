import { ExternalLinkIcon } from "lucide-react";
import Markdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import { EnvLink } from "@/components/env-link";
import { Table } from "@/components/ui/table";
import { cn } from "@/lib/utils";
import { runbookLinkTarget } from "./links";
import { remarkRunbook } from "./remark-runbook";

const LINK = "font-medium underline underline-offset-4 hover:no-underline";
const HEADING = "scroll-mt-20 font-semibold tracking-tight";

/**
 * Markdown → React elements, never raw HTML: react-markdown escapes HTML in the source and drops
 * unsafe URLs (`javascript:` and the like); every element is styled here.
 */
const components: Components = {
  h2: ({ node: _node, className, children, ...p }) => (
    <h2 className={cn(HEADING, "mt-8 mb-3 border-b pb-1 text-xl first:mt-0", className)} {...p}>
      {children}
    </h2>
  ),
  h3: ({ node: _node, className, children, ...p }) => (
    <h3 className={cn(HEADING, "mt-6 mb-2 text-lg first:mt-0", className)} {...p}>
      {children}
    </h3>
  ),
  h4: ({ node: _node, className, children, ...p }) => (
    <h4 className={cn(HEADING, "mt-5 mb-2 text-base first:mt-0", className)} {...p}>
      {children}
    </h4>
  ),
  h5: ({ node: _node, className, children, ...p }) => (
    <h5 className={cn(HEADING, "mt-4 mb-2 text-sm first:mt-0", className)} {...p}>
      {children}
    </h5>
  ),
  h6: ({ node: _node, className, children, ...p }) => (
    <h6 className={cn(HEADING, "mt-4 mb-2 text-sm first:mt-0", className)} {...p}>
      {children}
    </h6>
  ),
  p: ({ node: _node, className, ...p }) => <p className={cn("my-3 leading-7 first:mt-0", className)} {...p} />,
  ul: ({ node: _node, className, ...p }) => (
    <ul className={cn("my-3 list-disc space-y-1.5 pl-6 [&_ol]:my-1.5 [&_ul]:my-1.5", className?.includes("contains-task-list") && "list-none pl-1", className)} {...p} />
  ),
  ol: ({ node: _node, className, ...p }) => <ol className={cn("my-3 list-decimal space-y-1.5 pl-6 [&_ol]:my-1.5 [&_ul]:my-1.5", className)} {...p} />,
  li: ({ node: _node, className, ...p }) => <li className={cn("pl-1 leading-7 marker:text-muted-foreground", className)} {...p} />,
  // GFM task list boxes: text says done or not (a bare disabled checkbox has no label).
  input: ({ checked, type }) =>
    type === "checkbox" ? (
      <>
        <span aria-hidden="true" className="mr-1.5 font-mono">
          {checked ? "☑" : "☐"}
        </span>
        <span className="sr-only">{checked ? "Done: " : "To do: "}</span>
      </>
    ) : null,
  blockquote: ({ node: _node, className, ...p }) => (
    <blockquote className={cn("my-4 border-l-4 pl-4 text-muted-foreground [&_p]:my-1", className)} {...p} />
  ),
  hr: () => <hr className="my-6" />,
  pre: ({ node: _node, className, ...p }) => (
    <pre
      className={cn(
        "my-4 rounded-lg border bg-muted p-4 font-mono text-sm leading-6 break-words whitespace-pre-wrap [&>code]:bg-transparent [&>code]:p-0 [&>code]:text-[length:inherit]",
        className,
      )}
      {...p}
    />
  ),
  code: ({ node: _node, className, ...p }) => <code className={cn("rounded bg-muted px-1.5 py-0.5 font-mono text-[0.85em]", className)} {...p} />,
  table: ({ node: _node, className, ...p }) => (
    <div className="my-4 rounded-lg border">
      <Table className={cn("text-sm", className)} label="Runbook table (scrolls sideways)" {...p} />
    </div>
  ),
  thead: ({ node: _node, className, ...p }) => <thead className={cn("bg-muted/60", className)} {...p} />,
  tr: ({ node: _node, className, ...p }) => <tr className={cn("border-b last:border-0", className)} {...p} />,
  th: ({ node: _node, className, ...p }) => <th scope="col" className={cn("px-3 py-2 text-left align-top font-semibold", className)} {...p} />,
  td: ({ node: _node, className, ...p }) => <td className={cn("px-3 py-2 align-top", className)} {...p} />,
  a: ({ node: _node, href, children, className }) => {
    const target = runbookLinkTarget(href);
    if (target.kind === "app") {
      return (
        <EnvLink to={target.to} className={cn(LINK, className)}>
          {children}
        </EnvLink>
      );
    }
    if (target.kind === "external") {
      if (target.href.startsWith("#")) {
        return (
          <a href={target.href} className={cn(LINK, className)}>
            {children}
          </a>
        );
      }
      return (
        <a href={target.href} target="_blank" rel="noopener noreferrer" className={cn(LINK, "inline-flex items-baseline gap-0.5", className)}>
          {children}
          <ExternalLinkIcon className="size-3 shrink-0 self-center" aria-hidden="true" />{" "}
          <span className="sr-only">(opens in a new tab)</span>
        </a>
      );
    }
    // A path with no page here (another document of the repository): its text, no dead link.
    return <span className={className}>{children}</span>;
  },
  // The CSP loads images from this origin only, and runbooks ship none: show the alt text.
  img: ({ alt }) => (alt ? <span className="text-muted-foreground">[{alt}]</span> : null),
};

/** A runbook's Markdown, styled for the page (headings start at h2: the page header is the h1). */
export function RunbookMarkdown({ markdown, className }: { markdown: string; className?: string }) {
  return (
    <div className={cn("min-w-0 text-[0.95rem] break-words", className)} data-testid="runbook-body">
      <Markdown remarkPlugins={[remarkGfm, remarkRunbook]} components={components} skipHtml>
        {markdown}
      </Markdown>
    </div>
  );
}
