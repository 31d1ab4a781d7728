import fs from 'node:fs';
import path from 'node:path';

/**
 * The dashboard's files: plain HTML, CSS and JavaScript in web/dashboard/ (no build step), and
 * uPlot (the charts) served from its installed package. Nothing is loaded from elsewhere.
 */
const WEB_DIR = path.resolve(__dirname, '..', '..', 'web', 'dashboard');
const UPLOT_DIR = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

/**
 * The page's scripts, in web/dashboard/: shared parts, one script per page, the router. index.html
 * loads them in this order; each is named here, so nothing else in the folder is served.
 */
const SCRIPTS = [
  'charts.js',
  'ui.js',
  'run-curves.js',
  ...['datasets', 'versions', 'suspects', 'runs', 'run', 'compare', 'experiments', 'models', 'predictions'].map(
    (p) => `pages/${p}.js`,
  ),
  'dashboard.js',
];

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(WEB_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  ...Object.fromEntries(
    SCRIPTS.map((name) => [`/${name}`, { file: path.join(WEB_DIR, name), type: 'text/javascript; charset=utf-8' }]),
  ),
  '/dashboard.css': { file: path.join(WEB_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': {
    file: path.join(UPLOT_DIR, 'uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/uPlot.min.css': { file: path.join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** The paths (below the dashboard's prefix) anyone may load: the page and its files, never data. */
export const DASHBOARD_ASSET_PATHS: readonly string[] = Object.keys(FILES);

/** Read once at start. */
export function dashboardAssets(): Record<string, { type: string; body: string }> {
  return Object.fromEntries(
    Object.entries(FILES).map(([url, f]) => [url, { type: f.type, body: fs.readFileSync(f.file, 'utf8') }]),
  );
}
