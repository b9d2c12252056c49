import type { Kpis } from "@/client/types.gen";
import { FigureSkeletons, FigureTiles } from "./figure-tiles";
import { kpiFigures } from "./hub-model";

const GRID = "grid-cols-1 sm:grid-cols-2 lg:grid-cols-3 2xl:grid-cols-6";

/** Build success, lead time to prod, p95 build, burn and budget, spend, queue: data-testid kpi-<name>. */
export function KpiTiles({ kpis }: { kpis: Kpis | undefined }) {
  return (
    <section aria-labelledby="hub-kpis-title" className="grid gap-3" data-testid="hub-kpis">
      <h2 id="hub-kpis-title" className="text-base leading-none font-semibold">
        Key figures
      </h2>
      {kpis ? (
        <FigureTiles figures={kpiFigures(kpis)} testIdPrefix="kpi" className={GRID} />
      ) : (
        <FigureSkeletons count={6} label="key figures" className={GRID} />
      )}
    </section>
  );
}
