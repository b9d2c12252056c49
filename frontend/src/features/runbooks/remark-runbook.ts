/** The parts of a Markdown syntax tree (mdast) this plugin reads and writes. */
export interface MdNode {
  type: string;
  depth?: number;
  value?: string;
  children?: MdNode[];
  data?: { hProperties?: Record<string, unknown> } & Record<string, unknown>;
}

/** Plain text of a node (inline code and emphasis included). */
export function textOf(node: MdNode): string {
  if (typeof node.value === "string") return node.value;
  return (node.children ?? []).map(textOf).join("");
}

/** GitHub-style heading anchors: lower case, punctuation dropped, spaces to dashes. */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .trim()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");
}

function walk(node: MdNode, visit: (n: MdNode) => void) {
  visit(node);
  for (const c of node.children ?? []) walk(c, visit);
}

/**
 * Fits a runbook into its page: the leading `# Title` is dropped (the page header shows the
 * title as the page's only h1), the other headings start at h2 and never skip a level (a
 * screen reader's outline stays in order), and each heading gets an id for `#anchor` links.
 */
export function normalizeRunbookTree(tree: MdNode): void {
  const top = tree.children ?? [];
  if (top[0]?.type === "heading" && top[0].depth === 1) top.shift();
  let previous = 1;
  const seen = new Map<string, number>();
  walk(tree, (n) => {
    if (n.type !== "heading") return;
    const level = Math.min(Math.max(n.depth ?? 2, 2), previous + 1, 6);
    n.depth = level;
    previous = level;
    const base = slugify(textOf(n)) || "section";
    const k = seen.get(base) ?? 0;
    seen.set(base, k + 1);
    n.data = { ...n.data, hProperties: { ...n.data?.hProperties, id: k ? `${base}-${k}` : base } };
  });
}

/** The remark plugin form of {@link normalizeRunbookTree}. */
export function remarkRunbook() {
  return (tree: MdNode) => normalizeRunbookTree(tree);
}
