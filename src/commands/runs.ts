import { validateStatus } from '../db/run-queries';
import { type RunDetails, type RunRecord } from '../db/run-types';
import { UsageError } from '../errors';
import { imbalanceRatio } from '../ml/class-weights';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { formatDuration, fixed4 } from '../ui/terminal';
import type { CommandContext } from './context';
import { startLines } from './shared/start-lines';
import { parsePositiveInt, parseRunId } from './options';

export interface RunsFlags {
  table?: string;
  model?: string;
  status?: string;
  experiment?: string;
  limit?: string;
}

export type RunsResult =
  | { action: 'list'; runs: RunRecord[] }
  | { action: 'show'; run: RunDetails }
  | { action: 'compare'; runs: RunDetails[]; differing: string[] };

export async function run(
  ctx: CommandContext,
  action: string | undefined,
  ids: string[],
  flags: RunsFlags,
): Promise<RunsResult> {
  const mldb = ctx.mldb();
  if (action === undefined || action === 'list') {
    if (ids.length)
      throw new UsageError(`unexpected argument "${ids[0]}"`, 'use `mldb runs show ID` or `mldb runs compare ID ID…`');
    validateStatus(flags.status);
    const limit = parsePositiveInt('--limit', flags.limit, { min: 1, max: 100000 }) ?? 20;
    return {
      action: 'list',
      runs: await mldb.runs({
        dataset: flags.table,
        architecture: flags.model,
        status: flags.status,
        experiment: flags.experiment,
        limit,
      }),
    };
  }
  if (action === 'show') {
    if (ids.length !== 1) throw new UsageError('`mldb runs show` takes one run id', 'e.g. mldb runs show 12');
    return { action: 'show', run: await mldb.run(parseRunId(ids[0])) };
  }
  if (action === 'compare') {
    if (ids.length < 2)
      throw new UsageError('`mldb runs compare` takes two or more run ids', 'e.g. mldb runs compare 12 13');
    const runs: RunDetails[] = [];
    for (const id of ids) runs.push(await mldb.run(parseRunId(id)));
    return { action: 'compare', runs, differing: differingSettings(runs) };
  }
  throw new UsageError(
    `unknown action "${action}"`,
    'use `mldb runs`, `mldb runs show ID` or `mldb runs compare ID ID…`',
  );
}

/** What a run was trained with, flattened for comparison. */
export function settingsOf(r: RunRecord): Record<string, string> {
  const s: Record<string, string> = { table: r.dataset, architecture: r.architecture };
  for (const [k, v] of Object.entries(r.hyperparameters)) s[k] = v === null || v === undefined ? '-' : settingText(v);
  s['backend used'] = r.backend ?? '-';
  s['data fingerprint'] = r.fingerprint ? `${r.fingerprint.rows} rows ${r.fingerprint.sha256.slice(0, 12)}` : '-';
  s['rows until id'] = r.rowsUntil === null ? '-' : String(r.rowsUntil);
  s['mldb'] = r.versions.mldb;
  s['tfjs'] = r.versions.tfjs;
  return s;
}

export function differingSettings(runs: RunRecord[]): string[] {
  const all = runs.map(settingsOf);
  const keys = [...new Set(all.flatMap((s) => Object.keys(s)))];
  return keys.filter((k) => new Set(all.map((s) => s[k] ?? '-')).size > 1);
}

function printList(runs: RunRecord[], out: Output): void {
  if (runs.length === 0) {
    out.line('no runs recorded yet: `mldb train --model NAME` records one');
    return;
  }
  out.line(
    renderTable(
      ['id', 'name', 'table', 'model', 'status', 'epochs', 'val acc', 'test acc', 'started', 'took'],
      runs.map((r) => [
        r.id,
        r.name ?? r.experiment ?? '',
        r.dataset,
        r.architecture,
        r.status,
        r.epochsDone,
        fixed4(r.final?.valAccuracy),
        fixed4(r.test?.accuracy),
        r.startedAt.replace('T', ' ').slice(0, 19),
        r.seconds === null ? '-' : formatDuration(r.seconds),
      ]),
      ['right', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'left', 'right'],
    ),
  );
}

/** A setting as it reads: lists joined by commas, objects (weights or counts by label) as JSON. */
function settingText(v: unknown): string {
  return typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v) : String(v);
}

/** "classes: 0 60, 1 6 · imbalance 10.0× (largest/smallest)": the train rows per label a run recorded. */
function classLine(counts: unknown): string | null {
  if (!counts || typeof counts !== 'object') return null;
  const entries = Object.entries(counts as Record<string, number>);
  const ratio = imbalanceRatio(entries.map(([, n]) => n));
  const list = entries.map(([l, n]) => `${l} ${n}`).join(', ');
  return `classes (train rows): ${list} · imbalance ${ratio.toFixed(1)}× (largest/smallest)`;
}

function printShow(r: RunDetails, out: Output): void {
  out.line(
    `run ${r.id}${r.name ? ` "${r.name}"` : ''}${r.experiment ? ` (experiment ${r.experiment})` : ''}: ${r.status}`,
  );
  const split = r.split
    ? ` · ${r.split.train} train / ${r.split.validation} validation / ${r.split.test} test rows`
    : '';
  const data = r.fingerprint ? ` · data ${r.fingerprint.sha256.slice(0, 16)}` : '';
  out.line(`${r.architecture} on ${r.dataset}${split}${data}`);
  out.line(
    `started ${r.startedAt}${r.endedAt ? `, ended ${r.endedAt} (${formatDuration(r.seconds!)})` : ''} on ` +
      `${r.host}, backend ${r.backend ?? '-'}, mldb ${r.versions.mldb}, tfjs ${r.versions.tfjs}`,
  );
  out.line(
    `hyperparameters: ${Object.entries(r.hyperparameters)
      .filter(([k]) => k !== 'classCounts')
      .map(([k, v]) => `${k}=${settingText(v)}`)
      .join(' ')}`,
  );
  for (const line of startLines(r.hyperparameters)) out.line(line);
  const classes = classLine(r.hyperparameters.classCounts);
  if (classes) out.line(classes);
  if (r.test)
    out.line(
      `test: loss ${fixed4(r.test.loss)} accuracy ${fixed4(r.test.accuracy)}` +
        (r.testDetails ? ` macro F1 ${fixed4(r.testDetails.macro.f1)} on ${r.testDetails.count} rows` : ''),
    );
  if (r.modelDir) out.line(`model: ${r.modelDir}`);
  if (r.error) out.line(`error: ${r.error}`);
  if (r.epochs.length) {
    out.line(
      renderTable(
        ['epoch', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'seconds', 'samples/s'],
        r.epochs.map((e) => [
          e.epoch,
          fixed4(e.loss),
          fixed4(e.accuracy),
          fixed4(e.valLoss),
          fixed4(e.valAccuracy),
          e.seconds.toFixed(1),
          Math.round(e.samplesPerSecond),
        ]),
        ['right', 'right', 'right', 'right', 'right', 'right', 'right'],
      ),
    );
  }
}

function printCompare(runs: RunDetails[], differing: string[], out: Output): void {
  const settings = runs.map(settingsOf);
  const rows: Array<Array<string | number>> = [
    ['name', ...runs.map((r) => r.name ?? '')],
    ['status', ...runs.map((r) => r.status)],
    ...differing.map((k) => [k, ...settings.map((s) => s[k] ?? '-')]),
    ['epochs done', ...runs.map((r) => r.epochsDone)],
    ['final loss', ...runs.map((r) => fixed4(r.final?.loss))],
    ['final val_accuracy', ...runs.map((r) => fixed4(r.final?.valAccuracy))],
    ['test loss', ...runs.map((r) => fixed4(r.test?.loss))],
    ['test accuracy', ...runs.map((r) => fixed4(r.test?.accuracy))],
    ['test macro F1', ...runs.map((r) => fixed4(r.testDetails?.macro.f1))],
    ['time', ...runs.map((r) => (r.seconds === null ? '-' : formatDuration(r.seconds)))],
  ];
  out.line(renderTable(['', ...runs.map((r) => `run ${r.id}`)], rows, ['left', ...runs.map(() => 'right' as const)]));
  out.line(
    differing.length ? `differing settings: ${differing.join(', ')}` : 'same settings (only the outcome differs)',
  );
}

export function print(r: RunsResult, out: Output): void {
  if (r.action === 'list') printList(r.runs, out);
  else if (r.action === 'show') printShow(r.run, out);
  else printCompare(r.runs, r.differing, out);
}
