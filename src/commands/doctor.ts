import { PURPOSES, type Purpose } from '../doctor/check';
import { diagnose, type DoctorReport } from '../doctor/doctor';
import { EXIT, UsageError } from '../errors';
import type { Output } from '../ui/output';
import { renderTable } from '../ui/table';
import { cliLine } from './cli-wording';
import type { CommandContext } from './context';

export interface DoctorFlags {
  for?: string;
}

export interface DoctorResult extends DoctorReport {
  /** Only the verdict is printed: what `npm test` runs before anything else. */
  brief: boolean;
}

export async function run(ctx: CommandContext, flags: DoctorFlags): Promise<DoctorResult> {
  const purpose = (flags.for ?? 'main') as Purpose;
  if (!PURPOSES.includes(purpose))
    throw new UsageError(`--for ${flags.for}: unknown purpose`, `use one of ${PURPOSES.join(', ')}`);
  return { ...(await diagnose({ config: ctx.config(), purpose, describe: cliLine })), brief: flags.for !== undefined };
}

const MARK = { ok: 'ok', warn: 'warn', missing: 'MISSING' } as const;
const WHAT: Record<Purpose, string> = {
  main: 'mldb can use the configured database',
  demo: '`npm run demo` can run',
  tests: '`npm test` has what it needs',
};

export function print(r: DoctorResult, out: Output): void {
  if (!r.brief) {
    out.line(
      renderTable(
        ['check', 'status', 'what'],
        r.checks.map((c) => [c.name, MARK[c.status], c.fix && c.status !== 'ok' ? [c.detail, `→ ${c.fix}`] : c.detail]),
      ),
    );
  }
  if (r.ready) {
    out.line(`ready: ${WHAT[r.purpose]}`);
    return;
  }
  for (const id of r.blocking) {
    const c = r.checks.find((x) => x.id === id)!;
    out.note(`mldb doctor: ${c.name}: ${c.detail}: ${c.fix}`);
  }
}

export function exitCode(r: DoctorResult): number {
  if (r.ready) return EXIT.OK;
  return r.blocking.includes('database') || r.blocking.includes('schema') ? EXIT.DATABASE : EXIT.NOT_FOUND;
}
