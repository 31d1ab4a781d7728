import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PACKAGES } from '../../src/doctor/check';
import { findChromium } from '../../src/doctor/machine';
import { mldbRunning, type RunningCli } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { sampleDigitsFolder, tempDir } from '../helpers/fixtures';
import { waitFor } from '../helpers/serve';
import { imagesLoaded, unnamed } from '../helpers/page-checks';

/**
 * A table's versions, a diff and its suspects in a real headless Chromium, as a token holder:
 * digits imported, a model trained on them, four of them relabelled wrongly afterwards. The page
 * shows those edits as versions and in a diff, the model's suspects include them, and one click
 * relabels a suspect — a new version, as `mldb relabel` makes. Screenshots go to test-results/.
 */
const CHROMIUM = findChromium();
const RESULTS = path.resolve(__dirname, '..', '..', 'test-results');
const TOKEN = 'curation-browser-token';

const db = freshDatabase();
let browser: Browser;
let ui: RunningCli;
let uiUrl: string;
let model: string;
let flipped: number[];

beforeAll(async () => {
  if (!CHROMIUM) throw new Error(`the browser test needs Chromium: ${PACKAGES.chromium}`);
  const m = db.mldb('digits');
  await m.insertFolder(sampleDigitsFolder(30), { create: true });
  const trained = await m.train({
    model: 'lenet5',
    epochs: 4,
    batchSize: 16,
    seed: 1,
    backend: 'wasm',
    save: tempDir(),
    store: { name: 'digits-lenet5' },
  });
  model = `${trained.storedModel!.name}@${trained.storedModel!.version}`;
  await m.tag('digits', 'imported');
  const threes = (await m.rows('digits', { label: '3', split: 'train', limit: 4 })).map((r) => r.id);
  expect(threes).toHaveLength(4);
  flipped = threes;
  await m.relabel('digits', flipped, '8');

  ui = mldbRunning(['ui', '--port', '0'], { MLDB_URL: db.url, MLDB_UI_TOKEN: TOKEN });
  await waitFor(async () => /listening on (http:\/\/\S+)\//.test(ui.stderr()), 'the dashboard to listen', 120_000);
  uiUrl = /listening on (http:\/\/\S+?)\/? /.exec(ui.stderr())![1];
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  fs.mkdirSync(RESULTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  ui?.child.kill('SIGKILL');
  await db.cleanup();
});

test('a token holder sees the versions and a diff, finds suspects and relabels one: a new version', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (msg) => msg.type() === 'error' && !/401/.test(msg.text()) && problems.push(msg.text()));
  page.on('request', (r) => {
    // Images behind the token are fetched with it and shown from blob: URLs of this page.
    if (![uiUrl, `blob:${uiUrl}`, 'data:'].some((ok) => r.url().startsWith(ok)))
      problems.push(`left the machine: ${r.url()}`);
  });

  // The page asks for the token once.
  await page.goto(`${uiUrl}/#/datasets/digits`);
  await page.locator('#token-box').waitFor();
  await page.fill('#token', TOKEN);
  await page.click('#token-save');
  await page.waitForSelector('main[data-ready="#/datasets/digits"] .grid li');

  // Versions: the import, its tag, the relabel of four rows, by whom.
  await page.click('text=Versions and diffs');
  await page.waitForSelector('main[data-ready="#/datasets/digits/versions"]');
  const versions = page.locator('table:has(caption:text-is("Versions, newest first")) tbody tr');
  await expect(versions.first().textContent()).resolves.toMatch(/^\d+–relabel4.*@/);
  await expect(page.locator('main').textContent()).resolves.toMatch(/importedimport300/);

  // A diff from the tag to the current rows, asked for through the form with the keyboard.
  await page.fill('input[name=from]', 'imported');
  await page.locator('input[name=from]').press('Enter');
  await page.waitForSelector('main[data-ready="#/datasets/digits/versions?from=imported"] .diff-totals');
  await expect(page.locator('.diff-totals').textContent()).resolves.toBe(
    '0 added · 0 removed · 4 relabelled · 0 moved',
  );
  const counts = await page.locator('table:has(caption:text-is("Rows changed, per label")) tbody tr').allTextContents();
  expect(counts).toEqual(['relabelled3 → 84']);
  const relabelled = await page
    .locator('table:has(caption:text-is("Relabelled rows")) tbody td:nth-child(2)')
    .allTextContents();
  expect(relabelled.map(Number).sort((a, b) => a - b)).toEqual([...flipped].sort((a, b) => a - b));
  expect(await unnamed(page)).toEqual([]);
  await imagesLoaded(page, 'main details img');
  await page.screenshot({ path: path.join(RESULTS, 'dashboard-versions.png'), fullPage: false });

  // The images of the tagged version: the four rows still labelled 3 there.
  await page.click('a[aria-label="images of version 1"]');
  await page.waitForSelector('main[data-ready="#/datasets/digits?at=1"] .grid li');
  await expect(page.locator('h1').textContent()).resolves.toBe('Dataset digits@1');
  await page.selectOption('select[name=label]', '3');
  await page.locator('form.filters button').press('Enter');
  await page.waitForSelector('main[data-ready="#/datasets/digits?label=3&at=1"] .grid li');
  const threesThen = (await db.mldb().rows('digits@1', { label: '3', limit: 1000 })).map((r) => r.id);
  expect(threesThen).toEqual(expect.arrayContaining(flipped));
  await expect(page.locator('.grid .cell-label').allTextContents()).resolves.toEqual(threesThen.map(() => '3'));
  await imagesLoaded(page, '.grid img');
  await page.goBack();
  await page.waitForSelector('main[data-ready="#/datasets/digits?at=1"]');
  await page.goBack();
  await page.waitForSelector('main[data-ready="#/datasets/digits/versions?from=imported"]');

  // Suspects: only when asked, under the stored model.
  await page.click('a:text-is("suspects")');
  await page.waitForSelector('main[data-ready="#/datasets/digits/suspects"]');
  await expect(page.locator('table').count()).resolves.toBe(0);
  await page.fill('input[name=model]', model);
  await page.fill('input[name=limit]', '10');
  await page.click('button:text-is("Find suspects")');
  const ready = `#/datasets/digits/suspects?${new URLSearchParams({ model, limit: '10' })}`;
  await page.waitForSelector(`main[data-ready="${ready}"] table`, { timeout: 240_000 });
  const ids = (await page.locator('main table tbody tr td:nth-child(2)').allTextContents()).map(Number);
  expect(ids.length).toBeGreaterThan(0);
  expect(ids.length).toBeLessThanOrEqual(10);
  // The model learnt these rows as 3s: relabelled 8 since, they are what it doubts.
  const found = flipped.filter((id) => ids.includes(id));
  expect(found.length).toBeGreaterThan(0);
  expect(await unnamed(page)).toEqual([]);
  // Each suspect's image, drawn from its stored pixels.
  await imagesLoaded(page, 'main table img');
  await page.screenshot({ path: path.join(RESULTS, 'dashboard-suspects.png'), fullPage: false });

  const id = found[0];
  const row = page.locator('main table tbody tr', { has: page.locator(`td:nth-child(2):text-is("${id}")`) });
  const suggested = await row.locator('td:nth-child(4)').textContent();
  const before = await db.mldb().versions('digits');
  await row.locator(`button[aria-label="relabel row ${id} to ${suggested}"]`).press('Enter');
  await row.locator('.edited').waitFor();
  const next = before.at(-1)!.version + 1;
  await expect(row.locator('.edited').textContent()).resolves.toBe(`relabelled to ${suggested} (version ${next})`);
  const after = await db.mldb().versions('digits');
  expect(after.map((v) => [v.version, v.kind, v.rows]).at(-1)).toEqual([next, 'relabel', 1]);
  expect((await db.mldb().rows('digits', { limit: 1000 })).find((r) => r.id === id)?.label).toBe(suggested);

  // The versions page lists the new version first.
  await page.goto(`${uiUrl}/#/datasets/digits/versions`);
  await page.waitForSelector('main[data-ready="#/datasets/digits/versions"]');
  await expect(versions.first().textContent()).resolves.toMatch(new RegExp(`^${next}–relabel1`));
  expect(problems).toEqual([]);
  expect(ui.stderr()).not.toContain(TOKEN);
  await page.close();
}, 400_000);
