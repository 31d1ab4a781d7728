import { readSettings, resolveConfig, type ConfigOverrides, type MldbConfig, type Settings } from '../config';
import { MlDb } from '../mldb';
import type { Output } from '../ui/output';

/**
 * What every command gets: lazily resolved config and settings (each read once per command), a
 * lazily opened MlDb, and the output.
 */
export interface CommandContext {
  readonly out: Output;
  config(): MldbConfig;
  /** The environment's other settings (config.ts): no command reads a variable itself. */
  settings(): Settings;
  mldb(): MlDb;
  /** Closes whatever was opened; called by the CLI after every command. */
  dispose(): Promise<void>;
}

export function createContext(overrides: ConfigOverrides, out: Output): CommandContext {
  let config: MldbConfig | undefined;
  let settings: Settings | undefined;
  let mldb: MlDb | undefined;
  const ctx: CommandContext = {
    out,
    config: () => (config ??= resolveConfig(overrides)),
    settings: () => (settings ??= readSettings()),
    mldb: () =>
      (mldb ??= new MlDb({
        config: ctx.config(),
        settings: ctx.settings(),
        onNote: (text) => out.note(`mldb: ${text}`),
      })),
    dispose: async () => {
      await mldb?.close();
    },
  };
  return ctx;
}
