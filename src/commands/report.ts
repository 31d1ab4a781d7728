import path from 'node:path';
import type { ReportResult } from '../report/report';
import type { Output } from '../ui/output';
import type { CommandContext } from './context';
import { parseRunId } from './options';

export async function run(ctx: CommandContext, id: string, flags: { out?: string }): Promise<ReportResult> {
  const runId = parseRunId(id);
  const result = await ctx.mldb().report(runId, flags.out ?? path.join('reports', `run-${runId}`));
  for (const n of result.notes) ctx.out.note(`note: ${n}`);
  return result;
}

export function print(r: ReportResult, out: Output): void {
  out.line(`report of run ${r.runId}: ${r.index}`);
  for (const i of r.images) out.line(`  ${i.file} (${i.width}×${i.height}): ${i.what}`);
}
