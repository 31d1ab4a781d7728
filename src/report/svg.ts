import { printable } from '../printable';

/** Small SVG building blocks for the report's charts; rendered to PNG by sharp (librsvg). */

/**
 * Text for SVG and HTML: markup characters as entities, and control characters (which XML does
 * not allow at all: librsvg refuses the whole chart) shown as \xNN, as on the terminal.
 */
export function escapeXml(text: string): string {
  return printable(text).replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

export function text(
  x: number,
  y: number,
  content: string,
  opts: {
    size?: number;
    anchor?: 'start' | 'middle' | 'end';
    weight?: 'normal' | 'bold';
    fill?: string;
    rotate?: number;
  } = {},
): string {
  const transform = opts.rotate ? ` transform="rotate(${opts.rotate} ${x} ${y})"` : '';
  return (
    `<text x="${x}" y="${y}" font-family="DejaVu Sans, Arial, sans-serif" font-size="${opts.size ?? 14}" ` +
    `text-anchor="${opts.anchor ?? 'start'}" font-weight="${opts.weight ?? 'normal'}" ` +
    `fill="${opts.fill ?? '#222'}"${transform}>${escapeXml(content)}</text>`
  );
}

/**
 * About how wide `content` is in DejaVu Sans at `size` px, erring wide: librsvg gives no metrics
 * back, and a label that runs into its neighbour is worse than one cut a little early.
 */
export function textWidth(content: string, size: number): number {
  let em = 0;
  for (const c of content) {
    const code = c.codePointAt(0)!;
    if (code >= 0x1100)
      em += 1.0; // CJK, emoji and other wide scripts
    else if (/[A-Z0-9mwMW@%&]/.test(c)) em += 0.72;
    else if (/[ilj.,:;'|!]/.test(c)) em += 0.32;
    else em += 0.6;
  }
  return em * size;
}

/** `content` cut with "…" so that it fits `maxWidth` px at `size` px. */
export function fitText(content: string, maxWidth: number, size: number): string {
  if (textWidth(content, size) <= maxWidth) return content;
  const chars = [...content];
  while (chars.length > 0 && textWidth(chars.join('') + '…', size) > maxWidth) chars.pop();
  return chars.join('') + '…';
}

export function svgDocument(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="#ffffff"/>${body.join('')}</svg>`;
}

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

/** A line chart with axes, ticks, grid, markers and a legend. */
export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width: number;
  height: number;
  yRange?: [number, number];
  legend?: 'top' | 'bottom';
}): string {
  const m = { left: 80, right: 30, top: 60, bottom: 70 };
  const w = o.width - m.left - m.right;
  const h = o.height - m.top - m.bottom;
  const all = o.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xMin = Math.min(1, ...xs);
  const xMax = Math.max(xMin + 1, ...xs);
  const yMin = o.yRange?.[0] ?? Math.min(...ys, 0);
  let yMax = o.yRange?.[1] ?? Math.max(...ys, 1e-9);
  if (!(yMax > yMin)) yMax = yMin + 1;
  const px = (x: number) => m.left + ((x - xMin) / (xMax - xMin)) * w;
  const py = (y: number) => m.top + h - ((y - yMin) / (yMax - yMin)) * h;
  const body: string[] = [text(o.width / 2, 32, o.title, { size: 20, anchor: 'middle', weight: 'bold' })];
  for (const t of niceTicks(yMin, yMax, 5)) {
    body.push(`<line x1="${m.left}" y1="${py(t)}" x2="${m.left + w}" y2="${py(t)}" stroke="#e4e4e4"/>`);
    body.push(text(m.left - 10, py(t) + 5, String(t), { anchor: 'end', size: 13 }));
  }
  const xTicks = niceTicks(xMin, xMax, Math.min(10, Math.max(1, xMax - xMin))).filter((t) => Number.isInteger(t));
  for (const t of xTicks) {
    body.push(`<line x1="${px(t)}" y1="${m.top + h}" x2="${px(t)}" y2="${m.top + h + 6}" stroke="#444"/>`);
    body.push(text(px(t), m.top + h + 24, String(t), { anchor: 'middle', size: 13 }));
  }
  body.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#444"/>`);
  body.push(text(m.left + w / 2, o.height - 18, o.xLabel, { anchor: 'middle', size: 15 }));
  body.push(text(22, m.top + h / 2, o.yLabel, { anchor: 'middle', size: 15, rotate: -90 }));
  o.series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) return;
    const d = pts.map(([x, y], k) => `${k ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    body.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="8 5"' : ''}/>`,
    );
    for (const [x, y] of pts)
      body.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    // Loss falls and accuracy rises: put the legend where the curves are not.
    const ly = o.legend === 'bottom' ? m.top + h - 12 - (o.series.length - 1 - i) * 22 : m.top + 18 + i * 22;
    body.push(
      `<line x1="${m.left + w - 150}" y1="${ly - 5}" x2="${m.left + w - 120}" y2="${ly - 5}" ` +
        `stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="8 5"' : ''}/>`,
    );
    body.push(text(m.left + w - 112, ly, s.name, { size: 14 }));
  });
  return svgDocument(o.width, o.height, body);
}

/** Smallest cell of the confusion heatmap, in px: the image grows instead (60 classes: ~1,000 px). */
const MIN_CELL = 12;
/** Widest a row or column label may be before it is cut with "…". */
const MAX_LABEL_PX = 230;

/**
 * Rows: true labels; columns: predictions. Cells shaded by the share of their row. Labels that fit
 * a cell stay on the columns as they are; longer ones stand vertically; with more than 30 classes
 * the columns carry the class index (upright too) and each row says "index label", so nothing
 * overlaps. The
 * image is `size` px square, wider and taller when the classes need it.
 */
export function confusionHeatmap(o: { title: string; labels: string[]; matrix: number[][]; size: number }): string {
  const n = o.labels.length;
  const labelFont = n > 30 ? 11 : 14;
  const probeCell = Math.floor((o.size - 200) / Math.max(n, 1));
  const fitsFlat = o.labels.every((l) => textWidth(l, labelFont) <= probeCell - 4);
  const columns: 'flat' | 'vertical' | 'index' = fitsFlat ? 'flat' : n > 30 ? 'index' : 'vertical';
  const rowText = (i: number) =>
    fitText(columns === 'index' ? `${i}  ${o.labels[i]}` : o.labels[i], MAX_LABEL_PX, labelFont);
  const colText = (i: number) => (columns === 'index' ? String(i) : fitText(o.labels[i], MAX_LABEL_PX, labelFont));
  const widest = (f: (i: number) => string) => Math.max(0, ...o.labels.map((_, i) => textWidth(f(i), labelFont)));
  // Indices stand vertically too: "59" is wider than a 12 px cell.
  const upright = columns !== 'flat';
  const m = {
    left: Math.max(110, 44 + widest(rowText)),
    top: 70 + (upright ? widest(colText) + 14 : 24),
    right: 30,
    bottom: 30,
  };
  const fit = Math.floor(Math.min(o.size - m.left - m.right, o.size - m.top - m.bottom) / Math.max(n, 1));
  const cell = Math.max(MIN_CELL, fit);
  const width = Math.ceil(Math.max(o.size, m.left + n * cell + m.right));
  const height = Math.ceil(Math.max(o.size, m.top + n * cell + m.bottom));
  const body: string[] = [text(width / 2, 30, o.title, { size: 20, anchor: 'middle', weight: 'bold' })];
  body.push(text(m.left + (cell * n) / 2, 58, 'predicted label', { anchor: 'middle', size: 15 }));
  body.push(text(24, m.top + (cell * n) / 2, 'true label', { anchor: 'middle', size: 15, rotate: -90 }));
  const font = Math.max(8, Math.min(16, Math.floor(cell / 2.6)));
  for (let r = 0; r < n; r++) {
    const total = o.matrix[r].reduce((a, b) => a + b, 0);
    for (let c = 0; c < n; c++) {
      const v = o.matrix[r][c];
      const share = total ? v / total : 0;
      // White → blue for the diagonal, white → red off it: mistakes stand out.
      const [R, G, B] =
        r === c
          ? [255 - 200 * share, 255 - 150 * share, 255 - 40 * share]
          : [255 - 20 * share, 255 - 190 * share, 255 - 190 * share];
      const x = m.left + c * cell;
      const y = m.top + r * cell;
      body.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${R | 0},${G | 0},${B | 0})" ` +
          `stroke="#ccc"/>`,
      );
      if (v > 0 && cell >= 14 && textWidth(String(v), font) <= cell - 2)
        body.push(
          text(x + cell / 2, y + cell / 2 + font / 3, String(v), {
            anchor: 'middle',
            size: font,
            fill: share > 0.6 ? '#fff' : '#222',
          }),
        );
    }
    const rowY = m.top + r * cell + cell / 2 + labelFont / 3;
    body.push(text(m.left - 8, rowY, rowText(r), { anchor: 'end', size: labelFont }));
    const colX = m.left + r * cell + cell / 2;
    body.push(
      upright
        ? text(colX + labelFont / 3, m.top - 8, colText(r), { anchor: 'start', size: labelFont, rotate: -90 })
        : text(colX, m.top - 8, colText(r), { anchor: 'middle', size: labelFont }),
    );
  }
  return svgDocument(width, height, body);
}
