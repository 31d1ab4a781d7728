import { resolveConfig, type ConfigOverrides, type MldbConfig } from '../config';
import { MlDb } from '../mldb';
import type { Output } from '../ui/output';

/** What every command gets: lazily resolved config, a lazily opened MlDb, and the output. */
export interface CommandContext {
  readonly out: Output;
  config(): MldbConfig;
  mldb(): MlDb;
  /** Closes whatever was opened; called by the CLI after every command. */
  dispose(): Promise<void>;
}

export function createContext(overrides: ConfigOverrides, out: Output): CommandContext {
  let config: MldbConfig | undefined;
  let mldb: MlDb | undefined;
  const ctx: CommandContext = {
    out,
    config: () => (config ??= resolveConfig(overrides)),
    mldb: () => (mldb ??= new MlDb({ config: ctx.config(), onNote: (text) => out.note(`mldb: ${text}`) })),
    dispose: async () => {
      await mldb?.close();
    },
  };
  return ctx;
}
