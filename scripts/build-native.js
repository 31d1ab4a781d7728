#!/usr/bin/env node
// Builds mldb's oneDNN addon (native/onednn) where oneDNN's headers are installed, with the
// node-gyp npm ships and Node's own headers (no download): `npm run build` runs it after tsc.
// Where oneDNN is missing, or its version does not compile here, it says so and succeeds: the
// `onednn` training backend is then unavailable (it says why), and the other engines train.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const addon = path.join(__dirname, '..', 'native', 'onednn');
const built = path.join(addon, 'build', 'Release', 'mldb_onednn.node');
const say = (line) => console.log(`build-native: ${line}`);

const header = ['/usr/include', '/usr/local/include'].some((dir) => fs.existsSync(path.join(dir, 'dnnl.hpp')));
if (!header) {
  say('oneDNN headers not found: --backend onednn unavailable (Debian/Ubuntu: apt-get install libdnnl-dev)');
  process.exit(0);
}

// Nothing to do when the addon is newer than every source.
const sources = fs.readdirSync(addon).filter((f) => /\.(cc|h|gyp)$/.test(f));
const stale =
  !fs.existsSync(built) || sources.some((f) => fs.statSync(path.join(addon, f)).mtimeMs > fs.statSync(built).mtimeMs);
if (!stale) process.exit(0);

// npm's own node-gyp: npm names it to scripts it runs; else where npm sits beside node.
const nodeGyp =
  [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ].find((p) => p && fs.existsSync(p)) ?? null;
if (!nodeGyp) {
  say('node-gyp not found beside npm: --backend onednn unavailable');
  process.exit(0);
}
// Node's headers where this node was installed (node-gyp would otherwise download them).
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
const args = [
  nodeGyp,
  'rebuild',
  '--jobs=max',
  ...(fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodeDir}`] : []),
];
say('building the oneDNN addon (native/onednn)');
const result = spawnSync(process.execPath, args, { cwd: addon, encoding: 'utf8' });
if (result.status !== 0) {
  process.stderr.write(result.stdout + result.stderr);
  say('the oneDNN addon did not build (see above): --backend onednn unavailable');
  process.exit(0);
}
say(`built ${path.relative(process.cwd(), built)}`);
