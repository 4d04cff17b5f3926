// A grouped bar chart (SVG, log scale) of the CNI benchmark: per operation, the reference
// plugin against ours, median milliseconds.
export interface BarGroup {
  label: string;
  reference: number;
  ours: number;
}

export function renderCniChart(groups: BarGroup[], date: string): string {
  const W = 760, H = 420, left = 70, right = 20, top = 50, bottom = 60;
  const values = groups.flatMap((g) => [g.reference, g.ours]).filter((v) => v > 0);
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(...values)))), yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))));
  const y = (v: number) => top + (1 - Math.log(Math.max(v, yMin) / yMin) / Math.log(yMax / yMin)) * (H - top - bottom);
  const slot = (W - left - right) / groups.length;
  const bar = Math.min(40, slot / 3);
  const p: string[] = [];
  p.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  p.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  p.push(`<text x="${left}" y="22" font-size="14">CNI plugin under libcni: median ms (log scale), lower is better — ${date.slice(0, 10)}</text>`);
  p.push(`<rect x="${left}" y="30" width="12" height="12" fill="#999"/><text x="${left + 18}" y="40">reference bridge + host-local</text>`);
  p.push(`<rect x="${left + 220}" y="30" width="12" height="12" fill="#1f77b4"/><text x="${left + 238}" y="40">rtnetlink shim + daemon</text>`);
  for (let d = yMin; d <= yMax; d *= 10) {
    p.push(`<line x1="${left}" x2="${W - right}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/><text x="${left - 6}" y="${y(d) + 4}" text-anchor="end">${d >= 1 ? d : d.toFixed(2)}</text>`);
  }
  groups.forEach((g, i) => {
    const cx = left + slot * (i + 0.5);
    for (const [k, v, colour] of [[0, g.reference, '#999'], [1, g.ours, '#1f77b4']] as const) {
      const x = cx - bar + k * bar;
      p.push(`<rect x="${x}" y="${y(v)}" width="${bar - 2}" height="${H - bottom - y(v)}" fill="${colour}"/>`);
      p.push(`<text x="${x + bar / 2 - 1}" y="${y(v) - 4}" text-anchor="middle" font-size="10">${v < 10 ? v.toFixed(2) : v.toFixed(0)}</text>`);
    }
    p.push(`<text x="${cx}" y="${H - bottom + 18}" text-anchor="middle">${g.label}</text>`);
  });
  p.push(`<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" stroke="#333"/>`);
  p.push('</svg>');
  return `${p.join('\n')}\n`;
}
