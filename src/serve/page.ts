import fs from 'node:fs';
import path from 'node:path';

/**
 * The web page: plain HTML, CSS and JavaScript in web/ at the package root, served as they are
 * (no build step, nothing loaded from elsewhere). Read once at start.
 */
export const WEB_DIR = path.resolve(__dirname, '..', '..', 'web');

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export function pageAssets(): Record<string, { type: string; body: string }> {
  return Object.fromEntries(
    Object.entries(FILES).map(([url, f]) => [
      url,
      { type: f.type, body: fs.readFileSync(path.join(WEB_DIR, f.file), 'utf8') },
    ]),
  );
}
