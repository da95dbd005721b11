// A hand-written SVG strip + box plot: one row per (scenario, side, metric),
// every sample a dot, the box from p25 to p75 with the median, whiskers from
// min to max, on a logarithmic time axis, with the design's targets marked.
import { percentile } from './util.ts';

export interface Row {
  label: string;
  side: 'ours' | 'client-go';
  values: number[];
}

export interface Marker {
  at: number;
  label: string;
  /** Rows the marker applies to (indexes into rows, inclusive); all when absent. */
  rows?: [number, number];
}

const COLORS = { ours: '#1f77b4', 'client-go': '#d62728' } as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Deterministic jitter (a chart that does not change between identical runs). */
function jitterOf(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return x - Math.floor(x) - 0.5;
}

export function stripPlot(opts: { title: string; subtitle: string; rows: Row[]; markers: Marker[] }): string {
  const rows = opts.rows;
  const labelW = 440;
  const plotW = 560;
  const rowH = 34;
  const top = 72;
  const left = labelW + 10;
  const height = top + rows.length * rowH + 56;
  const width = left + plotW + 30;
  const all = rows.flatMap((r) => r.values).filter((v) => v > 0);
  if (all.length === 0) all.push(100, 1000);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(1, Math.min(...all, 100)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all, 1000))));
  const x = (v: number) =>
    left + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
    `<text x="10" y="38" fill="#555">${esc(opts.subtitle)}</text>`,
  );
  // Grid: decades and 2×, 5× ticks.
  const axisY = top + rows.length * rowH + 6;
  for (let d = lo; d <= hi; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > hi) break;
      const gx = x(v).toFixed(1);
      out.push(
        `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${axisY}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`,
      );
      if (m === 2) continue; // a grid line only: its label would run into its neighbours'
      const label = v >= 1000 ? `${v / 1000} s` : `${v} ms`;
      out.push(
        `<text x="${gx}" y="${axisY + 16}" text-anchor="middle" fill="#444" font-size="11">${label}</text>`,
      );
    }
  }
  out.push(
    `<text x="${left + plotW / 2}" y="${axisY + 34}" text-anchor="middle" fill="#444">time from the leader's stop (log scale)</text>`,
  );
  const markerLines: string[] = [];
  for (const m of opts.markers) {
    if (m.at < lo || m.at > hi) continue;
    const mx = x(m.at).toFixed(1);
    const [a, b] = m.rows ?? [0, rows.length - 1];
    const y1 = top + a * rowH;
    const y2 = top + (b + 1) * rowH;
    markerLines.push(
      `<line x1="${mx}" y1="${y1}" x2="${mx}" y2="${y2}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="5,3"/>`,
      `<text x="${(x(m.at) + 4).toFixed(1)}" y="${y1 + 11}" fill="#2ca02c" font-size="11">${esc(m.label)}</text>`,
    );
  }
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    const color = COLORS[r.side];
    const s = [...r.values].sort((a, b) => a - b);
    if (i % 2 === 0)
      out.push(`<rect x="0" y="${top + i * rowH}" width="${width}" height="${rowH}" fill="#f7f7f7"/>`);
    if (s.length === 0) {
      out.push(
        `<text x="${labelW}" y="${cy + 4}" text-anchor="end" fill="#999">${esc(r.label)} (not measured)</text>`,
      );
      return;
    }
    const p25 = percentile(s, 25);
    const med = percentile(s, 50);
    const p75 = percentile(s, 75);
    out.push(
      `<text x="${labelW}" y="${cy + 4}" text-anchor="end" fill="${color}">${esc(r.label)} (n=${s.length}, median ${med >= 1000 ? `${(med / 1000).toFixed(2)} s` : `${Math.round(med)} ms`})</text>`,
      `<line x1="${x(s[0]!).toFixed(1)}" y1="${cy}" x2="${x(s[s.length - 1]!).toFixed(1)}" y2="${cy}" stroke="${color}" stroke-width="1"/>`,
      `<rect x="${x(p25).toFixed(1)}" y="${cy - 9}" width="${Math.max(1, x(p75) - x(p25)).toFixed(1)}" height="18" fill="${color}" fill-opacity="0.15" stroke="${color}"/>`,
      `<line x1="${x(med).toFixed(1)}" y1="${cy - 11}" x2="${x(med).toFixed(1)}" y2="${cy + 11}" stroke="${color}" stroke-width="2.5"/>`,
    );
    s.forEach((v, j) => {
      out.push(
        `<circle cx="${x(v).toFixed(1)}" cy="${(cy + jitterOf(j + i * 101) * 14).toFixed(1)}" r="2.2" fill="${color}" fill-opacity="0.6"/>`,
      );
    });
  });
  out.push(...markerLines, '</svg>');
  return `${out.join('\n')}\n`;
}
