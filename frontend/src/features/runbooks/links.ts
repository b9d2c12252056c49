/** Where a link found in a runbook or an alert annotation should go. */
export type LinkTarget =
  /** A page of this app: navigate with the router (and keep `?env=`). */
  | { kind: "app"; to: string }
  /** Somewhere else: a normal anchor. */
  | { kind: "external"; href: string }
  /** Not a link we can follow (a repository path, a bare word): show it as text. */
  | { kind: "text" };

const RUNBOOK_FILE = /^(?:\.\/)?(?:(?:\.\.\/)*(?:docs\/)?runbooks\/)?([a-z0-9][a-z0-9-]{0,63})\.md(#[^?]*)?$/i;
const REPO_RUNBOOK = /(?:^|\/)docs\/runbooks\/([a-z0-9][a-z0-9-]{0,63})\.md$/i;
const APP_PREFIXES = ["/runbooks", "/observability"];
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

const isAppPath = (path: string) => APP_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`));

/**
 * A link inside a runbook's Markdown. Runbooks link to each other by file name
 * (`ready-degraded.md`, `./slo-burn.md#steps`): those open the runbook page in the app.
 */
export function runbookLinkTarget(href: string | undefined | null): LinkTarget {
  const h = (href ?? "").trim();
  if (!h) return { kind: "text" };
  if (h.startsWith("#")) return { kind: "external", href: h };
  const file = RUNBOOK_FILE.exec(h);
  if (file) return { kind: "app", to: `/runbooks/${file[1].toLowerCase()}${file[2] ?? ""}` };
  if (h.startsWith("/") && !h.startsWith("//")) return isAppPath(h.split(/[?#]/)[0]) ? { kind: "app", to: h } : { kind: "text" };
  if (/^(?:https?:|mailto:)/i.test(h)) return annotationLinkTarget(h);
  return { kind: "text" };
}

/**
 * An alert annotation URL (`runbook_url`, `slo_url`): absolute URLs such as
 * `http://127.0.0.1:8000/runbooks/slo-burn` or `http://host/observability?slo=run-success` open
 * the matching page of this app whatever host they name (the API's public URL may differ from the
 * address the UI is served on); other URLs stay external links. Older alerts carried a
 * repository path (`docs/runbooks/slo-burn.md`): that opens the runbook too.
 */
export function annotationLinkTarget(value: string | undefined | null): LinkTarget {
  const v = (value ?? "").trim();
  if (!v) return { kind: "text" };
  const repo = REPO_RUNBOOK.exec(v);
  if (repo && !SCHEME.test(v)) return { kind: "app", to: `/runbooks/${repo[1].toLowerCase()}` };
  if (v.startsWith("/") && !v.startsWith("//")) return isAppPath(v.split(/[?#]/)[0]) ? { kind: "app", to: v } : { kind: "text" };
  if (!SCHEME.test(v)) return { kind: "text" };
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return { kind: "text" };
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    if (isAppPath(url.pathname)) return { kind: "app", to: `${url.pathname}${url.search}${url.hash}` };
    return { kind: "external", href: url.href };
  }
  if (url.protocol === "mailto:") return { kind: "external", href: url.href };
  return { kind: "text" };
}
