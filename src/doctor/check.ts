/** One line of `mldb doctor`: a thing this machine has or lacks, and what it is needed for. */
export interface Check {
  /** Stable, for --json readers: `node`, `server-binary`, `spider`, `chromium`, `database`, … */
  id: string;
  /** What a person reads in the table's first column. */
  name: string;
  /** `ok`; `warn`: works, but worth knowing; `missing`: absent or not working. */
  status: 'ok' | 'warn' | 'missing';
  detail: string;
  /** What to run or change when it is not ok. */
  fix?: string;
}

/** What a machine is checked for: the main job (the configured database), the demo, the tests. */
export const PURPOSES = ['main', 'demo', 'tests'] as const;
export type Purpose = (typeof PURPOSES)[number];

/** In a clone of mldb, the one command that installs every system prerequisite (README: Prerequisites). */
export const INSTALL_COMMAND = 'sudo scripts/install-prerequisites.sh';

/** The packages that bring a prerequisite, named as scripts/install-prerequisites.sh installs them. */
export const PACKAGES = {
  server: 'apt-get install mariadb-server-core mariadb-client (macOS: brew install mariadb)',
  spider: "apt-get install mariadb-plugin-spider (Homebrew's mariadb has it)",
  chromium: 'apt-get install chromium (macOS: brew install --cask chromium)',
  fonts: 'apt-get install fontconfig fonts-dejavu-core',
  clangFormat: 'apt-get install clang-format (macOS: brew install clang-format)',
  onednn: 'apt-get install libdnnl-dev, then build mldb’s addon: node scripts/build-native.js in mldb’s folder',
} as const;

export const ok = (id: string, name: string, detail: string): Check => ({ id, name, status: 'ok', detail });
export const warn = (id: string, name: string, detail: string, fix?: string): Check => ({
  id,
  name,
  status: 'warn',
  detail,
  fix,
});
export const missing = (id: string, name: string, detail: string, fix: string): Check => ({
  id,
  name,
  status: 'missing',
  detail,
  fix,
});
