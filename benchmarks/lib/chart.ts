// A small hand-drawn SVG: setup time per container against N (log-log), one line per implementation.
import type { Implementation } from './implementations.js';

interface Point {
  id: string;
  n: number;
  setupPerContainerMs: number;
}

const COLORS = ['#d62728', '#ff7f0e', '#8c564b', '#9467bd', '#1f77b4', '#17becf', '#2ca02c', '#7f7f7f', '#bcbd22', '#e377c2', '#393b79', '#637939', '#843c39'];

export function renderChart(stats: Point[], impls: Implementation[], sizes: number[], date: string): string {
  const W = 760, H = 440, left = 70, right = 250, top = 40, bottom = 50;
  const ys = stats.map((s) => s.setupPerContainerMs);
  const yMin = Math.min(...ys) / 1.3, yMax = Math.max(...ys) * 1.3;
  const xMin = Math.min(...sizes), xMax = Math.max(...sizes);
  const x = (n: number) => left + (xMax === xMin ? 0.5 : Math.log(n / xMin) / Math.log(xMax / xMin)) * (W - left - right);
  const y = (v: number) => top + (1 - Math.log(v / yMin) / Math.log(yMax / yMin)) * (H - top - bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${left}" y="22" font-size="14">W(N) setup: ms per container (log scale), lower is better — ${date.slice(0, 10)}</text>`);
  for (let d = Math.pow(10, Math.floor(Math.log10(yMin))); d <= yMax; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v < yMin || v > yMax) continue;
      parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
    }
  }
  for (const n of sizes) parts.push(`<text x="${x(n)}" y="${H - bottom + 18}" text-anchor="middle">N=${n}</text>`);
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}" stroke="#333"/><line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" stroke="#333"/>`);
  impls.forEach((impl, k) => {
    const pts = stats.filter((s) => s.id === impl.id).sort((a, b) => a.n - b.n);
    if (pts.length === 0) return;
    const c = COLORS[k % COLORS.length];
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="${impl.id.startsWith('rtnetlink') ? 3 : 1.5}" points="${pts.map((p) => `${x(p.n)},${y(p.setupPerContainerMs)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${x(p.n)}" cy="${y(p.setupPerContainerMs)}" r="3" fill="${c}"/>`);
    const ly = top + 10 + k * 18;
    parts.push(`<rect x="${W - right + 15}" y="${ly - 8}" width="12" height="4" fill="${c}"/><text x="${W - right + 32}" y="${ly}">${impl.label}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
