import { Controls, MiniMap, Position, ReactFlow, type Edge, type Node } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo } from "react";
import { useTheme } from "@/lib/theme";
import { cn } from "@/lib/utils";
import { statusTone, type Tone } from "@/features/runs/format";
import { layoutDag } from "./layout";

export type DiffMark = "added" | "removed" | "changed" | "same";

export interface GraphStep {
  key: string;
  name: string;
  needs: readonly string[];
  kind?: string;
}

const NODE_W = 180;
const NODE_H = 40;

const TONE_MINIMAP: Record<Tone | DiffMark, string> = {
  ok: "#059669",
  bad: "#dc2626",
  live: "#0284c7",
  wait: "#d97706",
  off: "#a1a1aa",
  idle: "#d4d4d8",
  added: "#059669",
  removed: "#dc2626",
  changed: "#d97706",
  same: "#d4d4d8",
};

/**
 * A pipeline's DAG with React Flow, laid out by `layoutDag` (longest-path layers, left to
 * right). Nodes are React Flow's built-in default node with a text label — no custom component
 * per node — and only the nodes in view are rendered, so graphs of 1,000+ steps stay usable.
 * Colours: a step's status in the latest run (heat), or its change in a version diff.
 */
export function PipelineGraph({
  steps,
  statuses,
  diff,
  label,
  className,
}: {
  steps: readonly GraphStep[];
  /** Step key → status (the latest run's). */
  statuses?: Readonly<Record<string, string>>;
  /** Step key → change between two versions. */
  diff?: Readonly<Record<string, DiffMark>>;
  label: string;
  className?: string;
}) {
  const { resolved } = useTheme();
  const { nodes, edges } = useMemo(() => {
    const layout = layoutDag(
      steps.map((s) => ({ id: s.key, needs: s.needs })),
      { nodeWidth: NODE_W, nodeHeight: NODE_H },
    );
    const keys = new Set(steps.map((s) => s.key));
    const nodes: Node[] = steps.map((s) => {
      const p = layout.nodes.get(s.key)!;
      const mark = diff?.[s.key];
      const status = statuses?.[s.key];
      const cls = mark ? `dag-diff-${mark}` : status ? `dag-tone-${statusTone(status)}` : "dag-tone-none";
      const suffix = mark && mark !== "same" ? ` (${mark})` : status ? ` (${status})` : s.kind === "approval" ? " (approval)" : "";
      return {
        id: s.key,
        position: { x: p.x, y: p.y },
        data: { label: `${s.name || s.key}${suffix}` },
        className: cn("dag-node", cls),
        sourcePosition: Position.Right,
        targetPosition: Position.Left,
        width: NODE_W,
        height: NODE_H,
        draggable: false,
        connectable: false,
        ariaLabel: `Step ${s.name || s.key}${suffix}${s.needs.length ? `, needs ${s.needs.join(", ")}` : ""}`,
      };
    });
    const edges: Edge[] = [];
    for (const s of steps) {
      for (const n of new Set(s.needs)) {
        if (!keys.has(n)) continue;
        edges.push({
          id: `${n}->${s.key}`,
          source: n,
          target: s.key,
          className: diff && (diff[s.key] === "removed" || diff[n] === "removed") ? "dag-edge-removed" : undefined,
          focusable: false,
        });
      }
    }
    return { nodes, edges };
  }, [steps, statuses, diff]);

  const large = nodes.length > 200;
  return (
    <div
      className={cn("h-[60vh] min-h-80 w-full overflow-hidden rounded-lg border", className)}
      role="group"
      aria-label={label}
      data-testid="pipeline-graph"
      data-node-count={nodes.length}
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        colorMode={resolved}
        fitView
        fitViewOptions={{ padding: 0.15, minZoom: 0.05 }}
        minZoom={0.02}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        edgesFocusable={false}
        onlyRenderVisibleElements
        proOptions={{ hideAttribution: true }}
        zoomOnDoubleClick={false}
      >
        <Controls showInteractive={false} aria-label="Graph zoom controls" />
        <MiniMap
          pannable
          zoomable
          ariaLabel={`Minimap of ${label}`}
          nodeStrokeWidth={large ? 0 : 2}
          nodeColor={(n) => {
            const cls = String(n.className ?? "");
            const m = /dag-(?:tone|diff)-(\w+)/.exec(cls)?.[1] as Tone | DiffMark | "none" | undefined;
            return m && m !== "none" ? TONE_MINIMAP[m] : "#a1a1aa";
          }}
        />
      </ReactFlow>
    </div>
  );
}
