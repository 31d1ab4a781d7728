import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findServerBinary, serverVersion, spiderPlugin } from '../local-servers/local-server';
import { missing, ok, PACKAGES, warn, type Check } from './check';

/** What this machine has, outside node_modules: Node, the server binary, Spider, Chromium, fonts, disk. */

/** The oldest Node mldb supports (package.json engines), and the releases still maintained upstream. */
const NODE_MINIMUM = [20, 9];
const NODE_END_OF_LIFE: Record<number, string> = { 20: '2026-04-30' };

export function nodeCheck(version = process.versions.node): Check {
  const [major, minor] = version.split('.').map(Number);
  const name = 'Node.js';
  if (major < NODE_MINIMUM[0] || (major === NODE_MINIMUM[0] && minor < NODE_MINIMUM[1]))
    return missing('node', name, `${version}, older than ${NODE_MINIMUM.join('.')}`, 'install Node.js 22 or 24');
  const eol = NODE_END_OF_LIFE[major];
  if (eol) return warn('node', name, `${version} (its upstream support ended ${eol})`, 'move to Node.js 22 or 24');
  return ok('node', name, version);
}

export function serverBinaryCheck(env: NodeJS.ProcessEnv = process.env): { check: Check; binary?: string } {
  const binary = findServerBinary(env);
  const name = 'server binary';
  if (!binary)
    return {
      check: missing(
        'server-binary',
        name,
        'no mariadbd or mysqld (the demo and tests start their own)',
        PACKAGES.server,
      ),
    };
  const text = serverVersion(binary);
  const version = /Ver\s+(\S+)/.exec(text)?.[1] ?? text;
  return { check: ok('server-binary', name, `${binary} (${version})`), binary };
}

export function spiderCheck(binary: string | undefined): Check {
  const name = 'Spider plugin';
  if (!binary) return missing('spider', name, 'no server binary to look beside', PACKAGES.spider);
  const plugin = spiderPlugin(binary);
  return plugin
    ? ok('spider', name, plugin)
    : missing('spider', name, 'ha_spider.so not found (sharded tables and their tests need it)', PACKAGES.spider);
}

const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const MAC_BROWSERS = [
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** The Chromium that playwright-core drives in the browser tests: on PATH (or a macOS app); none is downloaded. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const candidates = [
    ...CHROMIUM_NAMES.flatMap((n) => dirs.map((d) => path.join(d, n))),
    ...(process.platform === 'darwin' ? MAC_BROWSERS : []),
  ];
  return candidates.find((c) => {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

export function chromiumCheck(env: NodeJS.ProcessEnv = process.env): Check {
  const browser = findChromium(env);
  const name = 'Chromium';
  if (!browser) return missing('chromium', name, 'not on PATH (the browser tests need it)', PACKAGES.chromium);
  const version = spawnSync(browser, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout?.trim();
  return ok('chromium', name, `${browser}${version ? ` (${version})` : ''}`);
}

/** Reports draw their text with the system's fonts (librsvg through sharp, which asks fontconfig). */
export function fontsCheck(env: NodeJS.ProcessEnv = process.env): Check {
  const name = 'fonts';
  const listed = spawnSync('fc-list', [':', 'family'], { encoding: 'utf8', env, timeout: 10_000 });
  const families = (listed.stdout ?? '').split('\n').filter(Boolean);
  if (listed.error || families.length === 0)
    return missing('fonts', name, 'fontconfig lists no fonts (report charts would have no text)', PACKAGES.fonts);
  const dejavu = families.find((f) => /DejaVu Sans/.test(f));
  return ok(
    'fonts',
    name,
    `${families.length} famil${families.length === 1 ? 'y' : 'ies'}${dejavu ? ', DejaVu Sans' : ''}`,
  );
}

/** npm test's lint checks the oneDNN addon's C++ with clang-format (.clang-format), as prettier checks the rest. */
export function clangFormatCheck(env: NodeJS.ProcessEnv = process.env): Check {
  const name = 'clang-format';
  const run = spawnSync('clang-format', ['--version'], { encoding: 'utf8', env, timeout: 10_000 });
  if (run.error || run.status !== 0)
    return missing(
      'clang-format',
      name,
      'not on PATH (the lint of npm test checks the addon’s C++ with it)',
      PACKAGES.clangFormat,
    );
  return ok('clang-format', name, run.stdout.trim().replace(/^.*version /, ''));
}

/** Below this, saving a model or a report may fail half-way. */
const LOW_DISK_BYTES = 512 * 1024 ** 2;

export function diskCheck(dir: string): Check {
  const name = 'disk space';
  try {
    const s = fs.statfsSync(dir);
    const free = s.bavail * s.bsize;
    const text = `${(free / 1024 ** 3).toFixed(1)} GiB free in ${dir} (models/, reports/)`;
    return free < LOW_DISK_BYTES ? warn('disk', name, text, 'free some space before training') : ok('disk', name, text);
  } catch (e) {
    return warn('disk', name, `cannot tell for ${dir}: ${(e as Error).message}`);
  }
}
