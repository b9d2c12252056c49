import { assignLayers, layoutDag } from "./layout";

describe("DAG layering (longest path)", () => {
  it("puts every step one layer after the deepest step it needs", () => {
    const layers = assignLayers([
      { id: "checkout", needs: [] },
      { id: "build", needs: ["checkout"] },
      { id: "lint", needs: ["checkout"] },
      { id: "test", needs: ["build"] },
      { id: "ship", needs: ["lint", "test"] },
    ]);
    expect(Object.fromEntries(layers)).toEqual({ checkout: 0, build: 1, lint: 1, test: 2, ship: 3 });
  });

  it("keeps parallel steps in one column, ordered to avoid crossings", () => {
    const { layers, nodes } = layoutDag([
      { id: "a", needs: [] },
      { id: "b", needs: [] },
      { id: "b2", needs: ["b"] },
      { id: "a2", needs: ["a"] },
    ]);
    expect(layers).toEqual([
      ["a", "b"],
      ["a2", "b2"],
    ]);
    expect(nodes.get("a2")!.y).toBe(nodes.get("a")!.y);
    expect(nodes.get("a2")!.x).toBeGreaterThan(nodes.get("a")!.x);
  });

  it("ignores unknown needs and survives a cycle", () => {
    const layers = assignLayers([
      { id: "x", needs: ["ghost"] },
      { id: "p", needs: ["q"] },
      { id: "q", needs: ["p"] },
    ]);
    expect(layers.get("x")).toBe(0);
    expect(layers.get("p")).toBe(1);
    expect(layers.get("q")).toBe(1);
  });

  it("lays out 1,000+ nodes quickly with every edge pointing right", () => {
    const items = Array.from({ length: 1200 }, (_, i) => ({
      id: `s${i}`,
      needs: i === 0 ? [] : [`s${Math.floor((i - 1) / 3)}`, ...(i > 10 ? [`s${i - 7}`] : [])],
    }));
    const t0 = performance.now();
    const { nodes, layers } = layoutDag(items);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(nodes.size).toBe(1200);
    for (const n of items) for (const d of n.needs) expect(nodes.get(d)!.layer).toBeLessThan(nodes.get(n.id)!.layer);
    // no two nodes share a position
    const spots = new Set([...nodes.values()].map((p) => `${p.x},${p.y}`));
    expect(spots.size).toBe(1200);
    expect(layers.flat()).toHaveLength(1200);
  });
});
