import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { v7 as uuidv7 } from 'uuid';
import { insertPredictions } from '../../src/db/predictions';
import { countRuns } from '../../src/db/run-queries';
import { appendEpochs, createRun, finishRun } from '../../src/db/run-writes';
import { PACKAGES } from '../../src/doctor/check';
import { findChromium } from '../../src/doctor/machine';
import { mldb, mldbRunning, type RunningCli } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { digitsFolder, tempDir } from '../helpers/fixtures';
import { runStart } from '../helpers/records';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve';
import { imagesLoaded, unnamed } from '../helpers/page-checks';

/**
 * `mldb ui` in a real headless Chromium (Debian's package; nothing is downloaded) over a database
 * this test fills as a user would: an import, a training run, a two-run experiment, a served model
 * with predictions and a correction. Every page is opened and checked for what a person would see;
 * screenshots go to test-results/dashboard-*.png.
 */
const CHROMIUM = findChromium();
const RESULTS = path.resolve(__dirname, '..', '..', 'test-results');

const db = freshDatabase();
const env = { MLDB_URL: db.url, MLDB_TABLE: 'digits' };
const work = tempDir('mldb-dashboard-');
let browser: Browser;
let ui: RunningCli;
let uiUrl: string;
let service: ServeProcess;
let trainRun: number;
let experimentRuns: number[];
let predictionIds: string[];

beforeAll(async () => {
  if (!CHROMIUM) throw new Error(`the browser test needs Chromium: ${PACKAGES.chromium}`);
  const dir = digitsFolder();
  expect(mldb(['import', dir, '--create'], env).code).toBe(0);
  const trained = mldb(['train', '--model', 'lenet5', '--epochs', '3', '--json'], env);
  expect(trained.code).toBe(0);
  trainRun = JSON.parse(trained.stdout).runId;
  const plan = path.join(work, 'plan.yaml');
  fs.writeFileSync(
    plan,
    [
      'name: lrs',
      'table: digits',
      'grid:',
      '  model: [lenet5]',
      '  learningRate: [0.001, 0.01]',
      '  batchSize: [32, 64]',
      '  epochs: 1',
      '',
    ].join('\n'),
  );
  const exp = mldb(['experiment', plan, '--json'], env, work);
  expect(exp.code).toBe(0);
  experimentRuns = JSON.parse(exp.stdout).leaderboard.map((e: { runId: number }) => e.runId);

  // A served model (with the dashboard mounted beside it), three predictions, one corrected.
  service = await startServe(['--model', `run:${trainRun}`, '--log-inputs', '--ui'], env);
  const form = new FormData();
  const three = path.join(dir, '3');
  for (const f of fs.readdirSync(three).slice(0, 3))
    form.append('file', new Blob([fs.readFileSync(path.join(three, f))]), f);
  const answer = await (await fetch(`${service.url}/v1/predict`, { method: 'POST', body: form })).json();
  predictionIds = answer.predictions.map((p: { id: string }) => p.id);
  const corrected = await fetch(`${service.url}/v1/predictions/${predictionIds[0]}/label`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ label: '8' }),
  });
  expect(corrected.status).toBe(200);
  await service.stop();

  ui = mldbRunning(['ui', '--port', '0'], env);
  await waitFor(async () => /listening on (http:\/\/\S+)\//.test(ui.stderr()), 'the dashboard to listen', 120_000);
  uiUrl = /listening on (http:\/\/\S+?)\/? /.exec(ui.stderr())![1];
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  fs.mkdirSync(RESULTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  ui?.child.kill('SIGKILL');
  await service?.stop('SIGKILL');
  await db.cleanup();
});

/** A page that records console errors, failed requests and any request that leaves this server. */
async function open(hash: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(uiUrl) && !r.url().startsWith('data:')) problems.push(`left the machine: ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
  await page.goto(`${uiUrl}/${hash}`);
  await page.waitForSelector(`main[data-ready="${hash}"]`);
  return { page, problems };
}

test('datasets: the table, its counts per label and split, a grid of its images, what import found', async () => {
  const { page, problems } = await open('#/datasets');
  await expect(page.locator('main table').first().textContent()).resolves.toContain('digits');
  await page.click('text=digits');
  await page.waitForSelector('main[data-ready="#/datasets/digits"] .grid li');
  expect(await imagesLoaded(page, '.grid img')).toBe(60);
  const counts = await page.locator('table.numbers tbody tr').count();
  expect(counts).toBe(10);
  await expect(page.locator('main').textContent()).resolves.toMatch(
    /[\d,]+ label conflicts? .* [\d,]+ duplicate files?/,
  );
  // Filter by label and split through the form, with the keyboard.
  await page.selectOption('select[name=label]', '7');
  await page.selectOption('select[name=split]', 'test');
  await page.locator('form.filters button').press('Enter');
  await page.waitForSelector('main[data-ready="#/datasets/digits?label=7&split=test"] .grid li');
  const labels = await page.locator('.grid .cell-label').allTextContents();
  expect(labels.length).toBeGreaterThan(0);
  expect(new Set(labels)).toEqual(new Set(['7']));
  expect(await imagesLoaded(page, '.grid img')).toBe(labels.length);
  expect(await unnamed(page)).toEqual([]);
  await page.locator('h2:has-text("Images")').scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollBy(0, -40));
  await page.screenshot({ path: path.join(RESULTS, 'dashboard-dataset.png'), fullPage: false });
  expect(problems).toEqual([]);
  await page.close();
});

test('runs: the table sorts and filters; a run shows its curves, confusion matrix and mistakes', async () => {
  const { page, problems } = await open('#/runs');
  const ids = await page.locator('table.runs tbody td:first-child a').allTextContents();
  expect(ids.sort()).toEqual([trainRun, ...experimentRuns].map((id) => `#${id}`).sort());
  expect(ids).toHaveLength(5);
  await page.click('th a:has-text("test accuracy")');
  await page.waitForSelector('main[data-ready*="sort=test_accuracy"]');
  await page.selectOption('select[name=experiment]', 'lrs');
  await page.click('form.filters button');
  await page.waitForSelector('main[data-ready*="experiment=lrs"]');
  const filtered = await page.locator('table.runs tbody td:first-child a').allTextContents();
  expect(filtered.sort()).toEqual(experimentRuns.map((id) => `#${id}`).sort());

  await page.goto(`${uiUrl}/#/runs/${trainRun}`);
  await page.waitForSelector(`main[data-ready="#/runs/${trainRun}"]`);
  // The curves are drawn: uPlot's canvas has a size, and each chart says what it shows in words.
  const canvases = page.locator('figure.chart canvas');
  expect(await canvases.count()).toBeGreaterThanOrEqual(3);
  const box = await canvases.first().boundingBox();
  expect(box!.width).toBeGreaterThan(200);
  await expect(page.locator('figure.chart .plot').first().getAttribute('aria-label')).resolves.toMatch(
    /^Loss over 3 epochs; last values: loss \d/,
  );
  expect(await page.locator('table.confusion tbody tr').count()).toBe(10);
  // The rows trained on per label, and how uneven they are.
  expect(await page.locator('table:has(caption:text-is("Train rows per label")) tbody tr').count()).toBe(10);
  await expect(page.locator('main').textContent()).resolves.toMatch(
    /Imbalance ratio \d+\.\d× \(largest \/ smallest count of train rows\)/,
  );
  const mistakes = await page.locator('ul[aria-label=mistakes] img').count();
  // The thumbnails load lazily: brought into view, then the page back to its top for the screenshot.
  if (mistakes > 0) {
    await page.locator('ul[aria-label=mistakes]').scrollIntoViewIfNeeded();
    expect(await imagesLoaded(page, 'ul[aria-label=mistakes] img')).toBe(mistakes);
    await page.evaluate(() => window.scrollTo(0, 0));
  }
  await expect(page.locator('main').textContent()).resolves.toContain(`mldb serve --model`);
  expect(await unnamed(page)).toEqual([]);
  await page.screenshot({ path: path.join(RESULTS, 'dashboard-run.png'), fullPage: false });
  expect(problems).toEqual([]);
  await page.close();
});

test('a run started from a trained model: its page says from which, and what was frozen', async () => {
  const conn = await db.mldb().connection();
  const id = await createRun(
    conn,
    runStart({
      hyperparameters: {
        seed: 1,
        initFrom: 'run:1',
        freeze: 'up-to:block1_dropout',
        unfreezeAt: 3,
        initModel: 'digits_base@1',
        layersCopied: 18,
        headRebuilt: 'head_conv',
        frozenLayers: ['block1_conv1', 'block1_bn1', 'block1_dropout'],
      },
    }),
  );
  await finishRun(conn, id, { status: 'completed' });
  const { page, problems } = await open(`#/runs/${id}`);
  expect(await page.locator('p.start-from').textContent()).toBe(
    "Started from digits_base@1: 18 layers copied, head head_conv rebuilt for this table's labels · " +
      'Frozen: 3 layers (block1_conv1 … block1_dropout), released at epoch 3',
  );
  expect(problems).toEqual([]);
  await page.close();
});

test('a run trained with the recipe flags: its page lists each, and its classes with their imbalance', async () => {
  const conn = await db.mldb().connection();
  const id = await createRun(
    conn,
    runStart({
      hyperparameters: {
        seed: 1,
        optimizer: 'adamw',
        weightDecay: 0.05,
        lrSchedule: 'onecycle',
        warmupEpochs: 0.5,
        labelSmoothing: 0.1,
        classWeight: { '3': 2.5 },
        batchSampler: 'balanced',
        labels: ['1', '3', '7'],
        sources: '*.png',
        classCounts: { '1': 40, '3': 4, '7': 20 },
      },
    }),
  );
  await finishRun(conn, id, { status: 'completed' });
  const { page, problems } = await open(`#/runs/${id}`);
  const rows = await page
    .locator('table:has(caption:text-is("Hyperparameters")) tbody tr')
    .evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent ?? '')));
  expect(Object.fromEntries(rows)).toEqual({
    seed: '1',
    optimizer: '"adamw"',
    weightDecay: '0.05',
    lrSchedule: '"onecycle"',
    warmupEpochs: '0.5',
    labelSmoothing: '0.1',
    classWeight: '{"3":2.5}',
    batchSampler: '"balanced"',
    labels: '["1","3","7"]',
    sources: '"*.png"',
  });
  await expect(page.locator('main').textContent()).resolves.toContain(
    'Imbalance ratio 10.0× (largest / smallest count of train rows)',
  );
  expect(problems).toEqual([]);
  await page.close();
});

test('a run still training: its page shows new epochs as they are recorded, without a reload', async () => {
  // More epochs than the test could ever see finish (lenet5 on oneDNN does 200 in seconds): it is stopped below.
  const training = mldbRunning(['train', '--model', 'lenet5', '--epochs', '100000', '--no-store'], env);
  try {
    let runId = 0;
    await waitFor(
      async () => {
        const runs = await (await fetch(`${uiUrl}/api/runs?status=running`)).json();
        const run = runs.runs.find((r: { epochsDone: number }) => r.epochsDone >= 1);
        runId = run?.id ?? 0;
        return runId > 0;
      },
      'a running run with an epoch recorded',
      120_000,
    );
    const { page, problems } = await open(`#/runs/${runId}`);
    const epochsShown = async () =>
      Number(
        /over (\d+) epochs/.exec((await page.locator('figure.chart .plot').first().getAttribute('aria-label'))!)![1],
      );
    const first = await epochsShown();
    await page.waitForFunction(
      (n) =>
        Number(
          /over (\d+) epochs/.exec(document.querySelector('figure.chart .plot')!.getAttribute('aria-label')!)![1],
        ) > n,
      first,
      { timeout: 120_000 },
    );
    expect(await page.locator('main').textContent()).toContain('running');
    expect(problems).toEqual([]);
    await page.close();
  } finally {
    training.child.kill('SIGTERM');
  }
  expect(await training.exited).toBe(130);
});

test('compare runs and an experiment as parallel coordinates', async () => {
  const { page, problems } = await open(`#/runs`);
  for (const id of experimentRuns) await page.check(`input[aria-label="compare run ${id}"]`);
  await page.click('text=Compare selected');
  await page.waitForSelector('main[data-ready^="#/compare/"]');
  const differing = await page.locator('main table').last().locator('th').allTextContents();
  expect(differing).toEqual(['run', 'batchSize', 'learningRate', 'val accuracy', 'test accuracy']);
  expect(await page.locator('figure.chart canvas').count()).toBe(2);
  // Nothing but the sections themselves: no stray text (a "null" printed for a section left out).
  const strayText = await page.evaluate(() =>
    [...document.getElementById('view')!.childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent),
  );
  expect(strayText).toEqual([]);

  await page.goto(`${uiUrl}/#/experiments`);
  await page.waitForSelector('main[data-ready="#/experiments"]');
  await page.click('text=lrs');
  await page.waitForSelector('main[data-ready="#/experiments/lrs"]');
  expect(await page.locator('svg polyline.pc-line').count()).toBe(4);
  await expect(page.locator('svg[role=img]').getAttribute('aria-label')).resolves.toMatch(
    /4 runs over 2 settings against val accuracy/,
  );
  // The plan ran as a study: its trials by state, with the worker that ran each.
  const study = page.locator('section[aria-label=study]');
  await expect(study.locator('p').textContent()).resolves.toMatch(
    /4 of 4 trials \(grid, chosen by val_accuracy\): 4 completed/,
  );
  expect(await study.locator('div.scroll > table > tbody > tr').count()).toBe(4);
  expect(await study.locator('figure.chart canvas').count()).toBe(1);
  await page.screenshot({ path: path.join(RESULTS, 'dashboard-experiment.png') });
  expect(problems).toEqual([]);
  await page.close();
});

test('the keyboard alone: skip to the content, move between sections, open a run', async () => {
  const { page, problems } = await open('#/datasets');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
  await page.keyboard.press('Enter');
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('view');
  // Links and buttons are focusable and follow Enter: the Runs link, then the first run's link.
  await page.focus('header nav a[data-section=runs]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[data-ready="#/runs"]');
  expect(await page.getAttribute('header nav a[data-section=runs]', 'aria-current')).toBe('page');
  await page.focus('table.runs tbody a');
  const first = await page.evaluate(() => document.activeElement?.textContent);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`main[data-ready="#/runs/${first!.slice(1)}"]`);
  expect(await page.locator('h1').textContent()).toBe(`Run ${first}`);
  expect(problems).toEqual([]);
  await page.close();
});

test('models and the prediction log, with logged inputs and the correction waiting for promote', async () => {
  const { page, problems } = await open('#/models');
  expect(await page.locator('main tbody tr').count()).toBe(5);
  await page.goto(`${uiUrl}/#/predictions`);
  await page.waitForSelector('main[data-ready="#/predictions"]');
  expect(await page.locator('main tbody tr').count()).toBe(3);
  expect(await imagesLoaded(page, 'main tbody img')).toBe(3);
  await page.check('input[name=pending]');
  await page.click('form.filters button');
  await page.waitForSelector('main[data-ready="#/predictions?pending=1"]');
  expect(await page.locator('main tbody tr').count()).toBe(1);
  await expect(page.locator('main tbody').textContent()).resolves.toContain('8 (waiting)');
  expect(await unnamed(page)).toEqual([]);
  expect(problems).toEqual([]);
  await page.close();
});

test('with a token the data needs it and a correction can be made; the page asks for it', async () => {
  const token = 'dashboard-test-token';
  const guarded = mldbRunning(['ui', '--port', '0'], { ...env, MLDB_UI_TOKEN: token });
  try {
    await waitFor(async () => /listening on http/.test(guarded.stderr()), 'the dashboard to listen', 120_000);
    const url = /listening on (http:\/\/\S+?)\/? /.exec(guarded.stderr())![1];
    expect((await fetch(`${url}/api/overview`)).status).toBe(401);
    expect((await fetch(`${url}/`)).status).toBe(200);
    const page = await browser.newPage();
    await page.goto(`${url}/#/predictions`);
    await page.locator('#token-box').waitFor();
    await page.fill('#token', token);
    await page.click('#token-save');
    await page.waitForSelector('main[data-ready="#/predictions"] form.inline');
    await page.locator('form.inline input').first().fill('5');
    await page.locator('form.inline button').first().click();
    await waitFor(async () => (await page.locator('text=(waiting)').count()) === 2, 'the correction to show');
    await page.close();
    expect(guarded.stderr()).not.toContain(token);
  } finally {
    guarded.child.kill('SIGTERM');
  }
  expect(await guarded.exited).toBe(0);
});

test('the dashboard mounted by `mldb serve --ui` answers beside the prediction page', async () => {
  const s = await startServe(['--model', `run:${trainRun}`, '--ui'], env);
  try {
    const page = await (await fetch(`${s.url}/ui/`)).text();
    expect(page).toContain('mldb dashboard');
    const runs = await (await fetch(`${s.url}/ui/api/runs`)).json();
    // Every run the earlier tests recorded, counted in the database itself.
    expect(runs.total).toBe(await countRuns(await db.mldb().connection()));
    expect(runs.total).toBeGreaterThan(0);
    expect((await fetch(`${s.url}/`)).status).toBe(200);
    for (const bad of ['runs?limit=0', 'runs?sort=nope', 'tables/nope', 'tables/digits/images?limit=0']) {
      const r = await fetch(`${s.url}/ui/api/${bad}`);
      expect([bad, r.status]).toEqual([bad, bad.startsWith('tables/nope') ? 404 : 400]);
      expect((await r.json()).error.code).toMatch(/^(bad_query|not_found)$/);
    }
  } finally {
    await s.stop();
  }
});

test('the prediction log pages through rows that share a millisecond: "older →" shows each once', async () => {
  const conn = await db.mldb().connection();
  const at = new Date();
  await insertPredictions(
    conn,
    Array.from({ length: 60 }, (_, i) => ({
      id: uuidv7(),
      createdAt: at,
      source: 'api',
      model: 'paged-model',
      modelId: null,
      runId: null,
      client: null,
      fileName: `paged-${i}.png`,
      inputSha256: null,
      inputBytes: 0,
      inputFormat: null,
      input: null,
      label: '1',
      confidence: 0.5,
      top: null,
      latencyMs: 1,
      status: 'ok' as const,
      error: null,
    })),
  );
  const { page, problems } = await open('#/predictions?model=paged-model');
  const seen: string[] = [];
  for (let pages = 1; ; pages++) {
    seen.push(...(await page.locator('main tbody tr td:nth-child(3)').allTextContents()));
    const older = page.locator('nav.pager a');
    if ((await older.count()) === 0 || pages > 5) break;
    const before = await page.getAttribute('main', 'data-ready');
    await older.click();
    await page.waitForFunction((b) => document.querySelector('main')!.getAttribute('data-ready') !== b, before);
  }
  expect(seen.length).toBe(60);
  expect(new Set(seen).size).toBe(60);
  expect(problems).toEqual([]);
  await page.close();
});

test('a pruned run: the runs table filters it, its page says why, and its experiment ranks it last', async () => {
  const conn = await db.mldb().connection();
  const epoch = (n: number, valAccuracy: number) => ({
    epoch: n,
    loss: 1,
    accuracy: 0.5,
    valLoss: 1,
    valAccuracy,
    seconds: 1,
    samplesPerSecond: 10,
    learningRate: 0.01,
  });
  const kept = await createRun(conn, runStart({ experiment: 'pruning', hyperparameters: { seed: 1, lr: 0.01 } }));
  await appendEpochs(conn, kept, [epoch(1, 0.4), epoch(2, 0.5)]);
  await finishRun(conn, kept, { status: 'completed' });
  // Better on validation than the completed run, but its study stopped it: never ranked first.
  const pruned = await createRun(conn, runStart({ experiment: 'pruning', hyperparameters: { seed: 1, lr: 0.02 } }));
  await appendEpochs(conn, pruned, [epoch(1, 0.9)]);
  await finishRun(conn, pruned, { status: 'pruned', error: "pruned by the study's pruner after epoch 1" });

  const { page, problems } = await open('#/runs');
  await page.selectOption('select[name=status]', 'pruned');
  await page.click('form.filters button');
  await page.waitForSelector('main[data-ready*="status=pruned"]');
  expect(await page.locator('table.runs tbody td:first-child a').allTextContents()).toEqual([`#${pruned}`]);
  expect(await page.locator('table.runs tbody span.status-pruned').textContent()).toBe('pruned');

  await page.goto(`${uiUrl}/#/runs/${pruned}`);
  await page.waitForSelector(`main[data-ready="#/runs/${pruned}"]`);
  await expect(page.locator('main p.muted', { hasText: 'pruned by' }).textContent()).resolves.toBe(
    "pruned by the study's pruner after epoch 1",
  );
  expect(await page.locator('main p.error').count()).toBe(0);

  await page.goto(`${uiUrl}/#/experiments/pruning`);
  await page.waitForSelector('main[data-ready="#/experiments/pruning"]');
  const ranked = page.locator('table:has(caption:has-text("best first")) tbody tr');
  expect(await ranked.locator('td:first-child a').allTextContents()).toEqual([`#${kept}`, `#${pruned}`]);
  expect(await ranked.last().locator('span.status').textContent()).toBe('pruned');
  expect(problems).toEqual([]);
  await page.close();
});
