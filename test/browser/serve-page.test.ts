import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PACKAGES } from '../../src/doctor/check';
import { findChromium } from '../../src/doctor/machine';
import { mldb } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { digitsFolder, tempDir } from '../helpers/fixtures';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve';

/**
 * The page in a real headless Chromium (Debian's package; nothing is downloaded): upload a digit,
 * draw one, read the labels, correct a prediction. The screenshot is kept in test-results/.
 */
const CHROMIUM = findChromium();
const SCREENSHOT = path.resolve(__dirname, '..', '..', 'test-results', 'serve-page.png');

const db = freshDatabase();
const env = { MLDB_URL: db.url, MLDB_TABLE: 'digits' };
const work = tempDir('mldb-page-');
let service: ServeProcess;
let browser: Browser;
let digit: string;

beforeAll(async () => {
  if (!CHROMIUM) throw new Error(`the browser test needs Chromium: ${PACKAGES.chromium}`);
  const dir = digitsFolder();
  expect(mldb(['import', dir, '--create'], env).code).toBe(0);
  const model = path.join(work, 'model');
  expect(mldb(['train', '--model', 'lenet5', '--epochs', '2', '--save', model], env).code).toBe(0);
  const three = path.join(dir, '3');
  digit = path.join(three, fs.readdirSync(three)[0]);
  service = await startServe(['--model', model, '--log-inputs'], env);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await service?.stop('SIGKILL');
  await db.cleanup();
});

test('upload, draw, read the label and correct it, in a real browser', async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
  const external: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(service.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:'))
      external.push(r.url());
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${service.url}/`);
  await page.waitForFunction(() => document.getElementById('model-info')!.textContent!.includes('lenet5'));

  // Upload through the file picker.
  await page.setInputFiles('#file-input', digit);
  const first = page.locator('.result').first();
  await first.locator('.label').waitFor();
  const uploadedLabel = (await first.locator('.label').textContent())!;
  expect(uploadedLabel).toMatch(/^\d$/);
  expect(await first.locator('.bar').count()).toBe(3);
  expect(await page.locator('#status').textContent()).toMatch(/1 classified/);

  // Draw a "1": a vertical stroke on the canvas.
  const box = (await page.locator('#canvas').boundingBox())!;
  await page.mouse.move(box.x + 140, box.y + 40);
  await page.mouse.down();
  for (let y = 40; y <= 240; y += 10) await page.mouse.move(box.x + 140, box.y + y);
  await page.mouse.up();
  await page.click('#predict-drawing');
  await page.locator('.result').nth(1).waitFor();
  const drawn = page.locator('.result').first();
  expect((await drawn.locator('.label').textContent())!).toMatch(/^\d$/);
  expect(await drawn.locator('.muted').first().textContent()).toBe('drawing.png');

  // Correct the uploaded digit's prediction to another label.
  const uploaded = page.locator('.result').nth(1);
  const id = (await uploaded.getAttribute('data-id'))!;
  const corrected = uploadedLabel === '3' ? '8' : '3';
  await uploaded.locator('select').selectOption(corrected);
  await uploaded.locator('.correct button').click();
  await uploaded.locator('.done', { hasText: `recorded as ${corrected}` }).waitFor();
  await page.locator('#recent tbody tr', { hasText: corrected }).first().waitFor();

  const conn = await db.mldb().connection();
  await waitFor(async () => {
    const sql = 'SELECT true_label FROM mldb_predictions WHERE id = ?';
    const rows = await conn.query<{ true_label: string | null }>(sql, [id]);
    return rows[0]?.true_label === corrected;
  }, 'the correction in mldb_predictions');
  const [{ n }] = await conn.query<{ n: number }>("SELECT COUNT(*) AS n FROM mldb_predictions WHERE source = 'page'");
  expect(Number(n)).toBe(2);

  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(external).toEqual([]);
  expect(errors).toEqual([]);
});
