import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { useEffect, useRef } from "preact/hooks";

import type { AuditStats } from "../api/stats";
import { layerTitles } from "../layers/pipeline";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const LAYER_COLOURS: Record<string, string> = {
  transport: "#7a3db4",
  rbac: "#b42318",
  token: "#c77700",
  risk: "#2357c4",
  tags: "#1f7a3d",
};

function timeLabel(unix: number): string {
  return new Date(unix * 1000).toISOString().slice(11, 16);
}

/** Denials per layer in each time bucket, stacked. */
export function DenialChart({ stats }: { stats: AuditStats }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "bar",
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = stats.series.map((b) => timeLabel(b.start));
    c.data.datasets = stats.layers.map((layer) => ({
      label: layerTitles[layer] ?? layer,
      data: stats.series.map((b) => b.deny_by_layer[layer] ?? 0),
      backgroundColor: LAYER_COLOURS[layer] ?? "#8a94a6",
    }));
    c.update();
  }, [stats]);

  const denied = stats.totals.deny;
  return (
    <div class="chart-box">
      <canvas ref={canvas} role="img" aria-label={`Denials by layer: ${denied} in the range`} data-testid="denial-chart" />
    </div>
  );
}
