import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { getDataset } from '../db/registry';
import { pixelsByIds } from '../db/pixel-reads';
import type { Db } from '../db/db';
import { getRun } from '../db/run-queries';
import { type RunDetails } from '../db/run-types';
import { checkWritableFolderPath } from '../file-targets';
import { fixed4 } from '../ui/terminal';
import { confusionHeatmap, escapeXml, fitText, lineChart, svgDocument, text, textWidth } from './svg';

export const CHART_SIZE = { width: 800, height: 500 };
export const CONFUSION_SIZE = 800;
const TILE = 84;
const GRID_COLUMNS = 6;
const CELL = { width: 128, height: 152 };
const MAX_MISTAKES = 36;

export interface ReportFile {
  file: string;
  width: number;
  height: number;
  what: string;
}

export interface ReportResult {
  runId: number;
  dir: string;
  index: string;
  images: ReportFile[];
  notes: string[];
}

async function writePng(svg: string, file: string): Promise<{ width: number; height: number }> {
  const info = await sharp(Buffer.from(svg)).png().toFile(file);
  return { width: info.width, height: info.height };
}

/** The misclassified test rows as captioned tiles: what the model got wrong, at a glance. */
async function mistakesGrid(
  db: Db,
  run: RunDetails,
  file: string,
  notes: string[],
): Promise<{ width: number; height: number }> {
  const mistakes = (run.testDetails?.mistakes ?? []).slice(0, MAX_MISTAKES);
  const width = GRID_COLUMNS * CELL.width + 32;
  const rows = Math.max(1, Math.ceil(mistakes.length / GRID_COLUMNS));
  const height = 70 + rows * CELL.height;
  const d = run.testDetails;
  const wrong = d ? d.count - d.confusion.reduce((a, r, i) => a + r[i], 0) : 0;
  const mostConfident = (d?.mistakes.length ?? 0) > mistakes.length ? ' most confident' : '';
  const title = mistakes.length
    ? `Misclassified test images (${mistakes.length}${mostConfident} of ${wrong})`
    : 'Misclassified test images';
  const body = [text(width / 2, 34, title, { size: 20, anchor: 'middle', weight: 'bold' })];
  const tiles: sharp.OverlayOptions[] = [];
  let pixels = new Map<number, Buffer>();
  let shape: { height: number; width: number; channels: number } | null = null;
  if (mistakes.length) {
    try {
      shape = (await getDataset(db, run.dataset)).shape;
      pixels = await pixelsByIds(
        db,
        run.dataset,
        mistakes.map((m) => m.id),
      );
    } catch {
      notes.push(`table "${run.dataset}" is gone: the misclassified images cannot be shown`);
    }
  } else {
    body.push(
      text(
        width / 2,
        100,
        run.testDetails ? 'none: every test image was classified correctly' : 'no test metrics recorded for this run',
        { size: 16, anchor: 'middle' },
      ),
    );
  }
  // A label too long for its cell is cut; its class index (as in the heatmap and the per-class
  // table) then goes first, so that cut captions still say which class they are.
  const indexOf = new Map((d?.labels ?? []).map((l, k) => [l, k]));
  const captionText = (prefix: string, label: string) =>
    textWidth(prefix + label, 12) <= CELL.width - 8
      ? prefix + label
      : `${prefix}#${indexOf.get(label) ?? '?'} ${label}`;
  for (const [i, m] of mistakes.entries()) {
    const x = 16 + (i % GRID_COLUMNS) * CELL.width;
    const y = 56 + Math.floor(i / GRID_COLUMNS) * CELL.height;
    const px = pixels.get(m.id);
    if (px && shape) {
      const tile = await sharp(px, {
        raw: { width: shape.width, height: shape.height, channels: shape.channels as 1 | 3 },
      })
        .resize(TILE, TILE, { kernel: 'nearest', fit: 'contain', background: '#ffffff' })
        .png()
        .toBuffer();
      tiles.push({ input: tile, left: x + (CELL.width - TILE) / 2, top: y + 4 });
      body.push(
        `<rect x="${x + (CELL.width - TILE) / 2 - 1}" y="${y + 3}" width="${TILE + 2}" height="${TILE + 2}" ` +
          `fill="none" stroke="#999"/>`,
      );
    } else {
      body.push(text(x + CELL.width / 2, y + 48, `row ${m.id} gone`, { size: 12, anchor: 'middle', fill: '#888' }));
    }
    // One line each for the truth and the prediction, cut to the cell: labels longer than a digit
    // would otherwise run into the neighbours (index.html lists every mistake with its full labels).
    const caption = (line: string, dy: number, weight: 'bold' | 'normal') =>
      body.push(
        text(x + CELL.width / 2, y + TILE + dy, fitText(line, CELL.width - 8, 12), {
          size: 12,
          anchor: 'middle',
          weight,
        }),
      );
    caption(captionText('true: ', m.label), 23, 'normal');
    caption(captionText('→ ', m.predicted), 39, 'bold');
    body.push(
      text(x + CELL.width / 2, y + TILE + 56, `p=${m.confidence.toFixed(2)} · row ${m.id}`, {
        size: 11,
        anchor: 'middle',
        fill: '#555',
      }),
    );
  }
  const info = await sharp(Buffer.from(svgDocument(width, height, body)))
    .composite(tiles)
    .png()
    .toFile(file);
  return { width: info.width, height: info.height };
}

const REPORT_CSS = [
  'body{font-family:system-ui,sans-serif;margin:2em auto;max-width:860px;color:#222}',
  'table{border-collapse:collapse;margin:1em 0}',
  'td,th{border:1px solid #ddd;padding:4px 10px;text-align:left;overflow-wrap:anywhere}',
  'th{background:#f4f4f4}',
  'td.n{text-align:right;font-variant-numeric:tabular-nums}',
  'img{max-width:100%;border:1px solid #eee;margin:.5em 0}',
].join('');

/** A table: its first column text, numbers in the others right-aligned; every cell escaped. */
function htmlTable(headers: string[], rows: (string | number)[][]): string {
  const head = `<tr>${headers.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const numeric = (v: string | number) => typeof v === 'number' || /^(-?[\d.]+|–)$/.test(v);
  const cell = (v: string | number, i: number) =>
    `<td${i > 0 && numeric(v) ? ' class="n"' : ''}>${escapeXml(String(v))}</td>`;
  return `<table>${head}${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</table>`;
}

function html(run: RunDetails, images: ReportFile[], notes: string[]): string {
  const e = escapeXml;
  const rows: Array<[string, string]> = [
    ['status', run.status],
    ['table', run.dataset],
    ['architecture', run.architecture],
    ...Object.entries(run.hyperparameters).map(([k, v]) => [k, String(v)] as [string, string]),
    ['backend', run.backend ?? '–'],
    ['data', run.fingerprint ? `${run.fingerprint.rows} rows, sha256 ${run.fingerprint.sha256}` : '–'],
    [
      'split',
      run.split ? `${run.split.train} train / ${run.split.validation} validation / ${run.split.test} test` : '–',
    ],
    ['epochs done', String(run.epochsDone)],
    [
      'final',
      run.final
        ? `loss ${fixed4(run.final.loss)}, accuracy ${fixed4(run.final.accuracy)}, val_loss ` +
          `${fixed4(run.final.valLoss)}, ` +
          `val_accuracy ${fixed4(run.final.valAccuracy)}`
        : '–',
    ],
    [
      'test',
      run.test
        ? `loss ${fixed4(run.test.loss)}, accuracy ${fixed4(run.test.accuracy)}` +
          (run.testDetails ? `, macro F1 ${fixed4(run.testDetails.macro.f1)} on ${run.testDetails.count} rows` : '')
        : '–',
    ],
    ['model', run.modelDir ?? '–'],
    ['started', run.startedAt],
    ['ended', run.endedAt ?? '–'],
    ['host', run.host],
    ['versions', `mldb ${run.versions.mldb}, tfjs ${run.versions.tfjs}`],
    ...(run.error ? [['error', run.error] as [string, string]] : []),
  ];
  const classes = run.testDetails?.classes ?? [];
  const mistakes = (run.testDetails?.mistakes ?? []).slice(0, MAX_MISTAKES);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mldb run ${run.id}</title>
<style>${REPORT_CSS}</style>
</head><body>
<h1>Run ${run.id}${run.name ? ` — ${e(run.name)}` : ''}</h1>
<table>${rows.map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join('')}</table>
${notes.map((n) => `<p><em>${e(n)}</em></p>`).join('')}
${images
  .map(
    (i) =>
      `<h2>${e(i.what)}</h2><img src="${e(i.file)}" width="${i.width}" height="${i.height}" ` + `alt="${e(i.what)}">`,
  )
  .join('\n')}
${
  classes.length
    ? `<h2>Per class (test split)</h2>${htmlTable(
        ['label', '#', 'precision', 'recall', 'F1', 'support'],
        classes.map((c, i) => [c.label, i, fixed4(c.precision), fixed4(c.recall), fixed4(c.f1), c.support]),
      )}`
    : ''
}
${
  mistakes.length
    ? `<h2>Misclassified test images</h2>${htmlTable(
        ['true label', 'predicted', 'confidence', 'row'],
        mistakes.map((m) => [m.label, m.predicted, fixed4(m.confidence), m.id]),
      )}`
    : ''
}
${
  run.epochs.length
    ? `<h2>Epochs</h2>${htmlTable(
        ['epoch', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'seconds'],
        run.epochs.map((p) => [
          p.epoch,
          fixed4(p.loss),
          fixed4(p.accuracy),
          fixed4(p.valLoss),
          fixed4(p.valAccuracy),
          p.seconds.toFixed(1),
        ]),
      )}`
    : ''
}
</body></html>
`;
}

/**
 * Loss and accuracy curves, a confusion-matrix heatmap and a grid of misclassified test images as
 * PNGs (SVG rendered by sharp: no browser), and an index.html that shows them with the run.
 */
export async function writeReport(db: Db, runId: number, dir: string): Promise<ReportResult> {
  const run = await getRun(db, runId);
  const out = path.resolve(dir);
  // Before any chart is drawn: a folder that cannot be written is said at once.
  checkWritableFolderPath('report folder', dir, out);
  // Drawn in a folder of its own and moved into place when complete: a failure leaves no half report.
  const work = `${out}.partial-${process.pid}`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  try {
    const result = await drawReport(db, run, work);
    fs.mkdirSync(out, { recursive: true });
    for (const f of fs.readdirSync(work)) fs.renameSync(path.join(work, f), path.join(out, f));
    return { ...result, dir: out, index: path.join(out, 'index.html') };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function drawReport(db: Db, run: Awaited<ReturnType<typeof getRun>>, out: string): Promise<ReportResult> {
  const images: ReportFile[] = [];
  const notes: string[] = [];
  const add = async (
    file: string,
    what: string,
    make: (target: string) => Promise<{ width: number; height: number }>,
  ) => {
    const size = await make(path.join(out, file));
    images.push({ file, what, ...size });
  };
  const ep = run.epochs;
  await add('loss.png', 'Loss per epoch', (f) =>
    writePng(
      lineChart({
        title: `Run ${run.id}: loss (${run.architecture} on ${run.dataset})`,
        xLabel: 'epoch',
        yLabel: 'categorical cross-entropy',
        ...CHART_SIZE,
        series: [
          { name: 'train loss', color: '#1f6fd1', points: ep.map((e) => [e.epoch, e.loss]) },
          {
            name: 'val_loss',
            color: '#d1491f',
            dashed: true,
            points: ep.filter((e) => e.valLoss !== null).map((e) => [e.epoch, e.valLoss!]),
          },
        ],
      }),
      f,
    ),
  );
  await add('accuracy.png', 'Accuracy per epoch', (f) =>
    writePng(
      lineChart({
        title: `Run ${run.id}: accuracy (${run.architecture} on ${run.dataset})`,
        xLabel: 'epoch',
        yLabel: 'accuracy',
        yRange: [0, 1],
        legend: 'bottom',
        ...CHART_SIZE,
        series: [
          { name: 'train accuracy', color: '#1f6fd1', points: ep.map((e) => [e.epoch, e.accuracy]) },
          {
            name: 'val_accuracy',
            color: '#d1491f',
            dashed: true,
            points: ep.filter((e) => e.valAccuracy !== null).map((e) => [e.epoch, e.valAccuracy!]),
          },
        ],
      }),
      f,
    ),
  );
  if (ep.length === 0) notes.push('no epoch was completed: the curves are empty');
  if (run.testDetails) {
    const d = run.testDetails;
    await add('confusion.png', 'Confusion matrix (test split)', (f) =>
      writePng(
        confusionHeatmap({
          title: `Run ${run.id}: confusion matrix, test accuracy ${fixed4(run.test?.accuracy)}`,
          labels: d.labels,
          matrix: d.confusion,
          size: CONFUSION_SIZE,
        }),
        f,
      ),
    );
  } else {
    notes.push('no test metrics were recorded (no test rows, or the run did not complete): no confusion matrix');
  }
  await add('mistakes.png', 'Misclassified test images', (f) => mistakesGrid(db, run, f, notes));
  const index = path.join(out, 'index.html');
  fs.writeFileSync(index, html(run, images, notes));
  return { runId: run.id, dir: out, index, images, notes };
}
