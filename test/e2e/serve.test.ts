import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { MAX_NAME_LENGTH } from '../../src/db/schema';
import { walkLabeledFolder } from '../../src/ingest/walk-labeled-folder';
import { mldb } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { digitsFolder, grayPng, tempDir } from '../helpers/fixtures';
import { request } from '../helpers/http';
import { startServe, waitFor, type ServeProcess } from '../helpers/serve';

const db = freshDatabase();
const work = tempDir('mldb-serve-');
const env = { MLDB_URL: db.url, MLDB_TABLE: 'digits' };
const probe = db.mldb();
let runId: number;
let files: string[];
const running: ServeProcess[] = [];

async function serve(args: string[], extraEnv: Record<string, string> = {}): Promise<ServeProcess> {
  const s = await startServe(args, { ...env, ...extraEnv });
  running.push(s);
  return s;
}

async function logRows(where = '1 = 1', params: unknown[] = []): Promise<Record<string, any>[]> {
  const conn = await probe.connection();
  return conn.query(`SELECT * FROM mldb_predictions WHERE ${where} ORDER BY created_at, id`, params);
}

function form(paths: string[]): FormData {
  const f = new FormData();
  for (const p of paths) f.append('file', new Blob([fs.readFileSync(p)]), path.basename(p));
  return f;
}

beforeAll(async () => {
  const dir = digitsFolder();
  expect(mldb(['import', dir, '--create'], env).code).toBe(0);
  const trained = mldb(
    ['train', '--model', 'lenet5', '--epochs', '1', '--backend', 'wasm', '--save', path.join(work, 'model'), '--json'],
    env,
  );
  expect(trained.code).toBe(0);
  const doc = JSON.parse(trained.stdout);
  runId = doc.runId;
  expect(doc.storedModel).toMatchObject({ version: 1 });
  // Twelve images of different labels, the same ones for `mldb predict` and the service.
  const all = walkLabeledFolder(dir).files;
  files = [...Array(12).keys()].map((i) => all[Math.floor((i * all.length) / 12)].path);
});

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop('SIGKILL')));
  await db.cleanup();
});

test('the API answers what `mldb predict` answers, in all three request forms, one log row per image', async () => {
  // The CLI on TensorFlow.js; the service on onnxruntime (installed here, so the default).
  const cli = mldb(['predict', '--model', path.join(work, 'model'), '--engine', 'tfjs', '--json', ...files], env);
  expect(cli.code).toBe(0);
  const expected = JSON.parse(cli.stdout).predictions as Array<{ label: string; confidence: number }>;

  const s = await serve(['--model', `run:${runId}`]);
  const predictUrl = `${s.url}/v1/predict`;
  const multipart = await (await fetch(predictUrl, { method: 'POST', body: form(files.slice(0, 6)) })).json();
  const raw = await Promise.all(
    files.slice(6, 9).map(async (f) => {
      const res = await fetch(`${s.url}/v1/predict`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream', 'X-File-Name': path.basename(f) },
        body: fs.readFileSync(f),
      });
      return (await res.json()).predictions[0];
    }),
  );
  const json = await (
    await fetch(`${s.url}/v1/predict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        images: files.slice(9).map((f) => ({ name: path.basename(f), data: fs.readFileSync(f).toString('base64') })),
      }),
    })
  ).json();
  const served = [...multipart.predictions, ...raw, ...json.predictions];
  expect(served).toHaveLength(12);
  served.forEach((p, i) => {
    expect(p.label).toBe(expected[i].label);
    expect(p.confidence).toBeCloseTo(expected[i].confidence, 5);
    expect(p.name).toBe(path.basename(files[i]));
    expect(p.top[0]).toEqual({ label: p.label, probability: p.confidence });
  });

  // Each answer names its log row; each row arrives exactly once, attributed to the stored model.
  const ids = served.map((p) => p.id);
  expect(new Set(ids).size).toBe(12);
  await waitFor(async () => (await logRows('id IN (?)', [ids])).length === 12, 'twelve log rows');
  const rows = await logRows('id IN (?)', [ids]);
  for (const r of rows) {
    const p = served.find((x) => x.id === r.id);
    expect(r).toMatchObject({ status: 'ok', label: p.label, run_id: runId, source: 'api', client: '127.0.0.1' });
    expect(r.model).toMatch(/@1$/);
    expect(r.input).toBeNull(); // inputs are logged only with --log-inputs
    const file = files[served.indexOf(p)];
    expect(r.input_sha256.equals(crypto.createHash('sha256').update(fs.readFileSync(file)).digest())).toBe(true);
    expect(Number(r.input_bytes)).toBe(fs.statSync(file).size);
  }

  // The original's form endpoint, and the service's own descriptions of itself.
  const mnist = await (await fetch(`${s.url}/mnist`, { method: 'POST', body: form([files[0]]) })).text();
  expect(mnist).toMatch(new RegExp(`^file: ${path.basename(files[0])}\nupload time: \\d{4}-\\d\\d-\\d\\d [\\d:]{8}\n`));
  expect(mnist).toMatch(new RegExp(`prediction: ${expected[0].label}\n$`));
  const models = await (await fetch(`${s.url}/v1/models`)).json();
  expect(models.models[0]).toMatchObject({ run: runId, architecture: 'lenet5', inputShape: [20, 20, 1] });
  const health = await (await fetch(`${s.url}/healthz`)).json();
  expect(health).toMatchObject({ status: 'ok', model: { loaded: true }, database: { reachable: true } });
  expect(health.model.engine).toMatch(/^onnxruntime \d/);
  expect(s.stderr()).toMatch(/^ {2}engine: onnxruntime /m);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  expect(metrics).toMatch(/mldb_serve_http_requests_total\{route="\/v1\/predict",status="200"\} 5/);
  expect(metrics).toMatch(/mldb_serve_predictions_total\{status="ok"\} 13/);
  expect(metrics).toMatch(/mldb_serve_batch_size_count \d+/);
  expect(metrics).toMatch(/mldb_serve_log_queue_depth \d+/);
  expect(metrics).toMatch(/mldb_serve_log_rows_dropped_total 0/);

  expect(await s.stop()).toBe(0);
  expect(s.stdout()).toMatch(/served 13 prediction\(s\) with .*@1; log: 13 written/);
});

test('bad requests get a 4xx JSON error; a bad image fails only itself', async () => {
  const s = await serve(['--model', `run:${runId}`, '--max-body', '64K', '--max-files', '3']);
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/v1/predict`, { method: 'POST', body, headers });

  const corrupt = await post(Buffer.from('not an image at all'), { 'Content-Type': 'image/png' });
  expect(corrupt.status).toBe(422);
  expect((await corrupt.json()).error.code).toBe('undecodable');

  const mixed = form([files[0]]);
  mixed.append('file', new Blob([Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5])]), 'broken.png');
  const partly = await post(mixed);
  expect(partly.status).toBe(200);
  const [good, bad] = (await partly.json()).predictions;
  expect(good.label).toMatch(/^\d$/);
  expect(bad).toMatchObject({ name: 'broken.png', code: 'undecodable' });

  // A header that declares 40000×40000 pixels is refused before any decoding.
  const bomb = grayPng(8, 8, 1);
  bomb.writeUInt32BE(40000, 16);
  bomb.writeUInt32BE(40000, 20);
  const bombed = await post(bomb, { 'Content-Type': 'image/png' });
  expect(bombed.status).toBe(413);
  expect((await bombed.json()).error.code).toBe('too_many_pixels');

  const big = await post(Buffer.alloc(100 * 1024, 1), { 'Content-Type': 'image/png' });
  expect(big.status).toBe(413);
  const many = await post(form([files[0], files[1], files[2], files[3]]));
  expect(many.status).toBe(413);
  expect((await many.json()).error.code).toBe('too_many_files');
  const text = await post('hello', { 'Content-Type': 'text/plain' });
  expect(text.status).toBe(415);
  const badJson = await post('{"images": 3}', { 'Content-Type': 'application/json' });
  expect(badJson.status).toBe(400);
  const badName = await post(fs.readFileSync(files[0]), {
    'Content-Type': 'application/octet-stream',
    'X-File-Name': 'bad%E0%A4%A.png',
  });
  expect(badName.status).toBe(400);
  expect((await badName.json()).error.code).toBe('bad_file_name');
  const label = await fetch(`${s.url}/v1/predictions/${good.id}/label`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ label: 'not-a-label' }),
  });
  expect(label.status).toBe(400);
  // The service survived all of it.
  expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  expect(await s.stop()).toBe(0);
});

test('with a token, the API needs it and never prints it', async () => {
  const secret = `tok-${crypto.randomBytes(8).toString('hex')}`;
  const s = await serve(['--model', `run:${runId}`], { MLDB_SERVE_TOKEN: secret });
  const body = () => form([files[0]]);
  expect((await fetch(`${s.url}/v1/predict`, { method: 'POST', body: body() })).status).toBe(401);
  const wrong = { Authorization: 'Bearer nope' };
  expect((await fetch(`${s.url}/v1/predict`, { method: 'POST', body: body(), headers: wrong })).status).toBe(401);
  const ok = await fetch(`${s.url}/v1/predict`, {
    method: 'POST',
    body: body(),
    headers: { Authorization: `Bearer ${secret}` },
  });
  expect(ok.status).toBe(200);
  expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
  expect(await s.stop()).toBe(0);
  expect(s.stderr() + s.stdout()).not.toContain(secret);
  expect(s.stderr()).toMatch(/token required/);
});

test('the token from --token-file; --token itself warns that the process list shows it', async () => {
  const secret = `tok-${crypto.randomBytes(8).toString('hex')}`;
  const file = path.join(work, 'token.txt');
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  const s = await serve(['--model', `run:${runId}`, '--token-file', file], {});
  const headers = { Authorization: `Bearer ${secret}` };
  expect((await fetch(`${s.url}/v1/models`)).status).toBe(401);
  expect((await fetch(`${s.url}/v1/models`, { headers })).status).toBe(200);
  expect(await s.stop()).toBe(0);
  expect(s.stderr()).not.toMatch(/process list/);
  expect(s.stderr() + s.stdout()).not.toContain(secret);
  const password = `pw-${crypto.randomBytes(8).toString('hex')}`;
  const url = new URL(db.url);
  url.password = password;
  const flagged = await serve(['--model', `run:${runId}`, '--token', secret, '--url', url.toString()], {});
  // Every local user can read a process's arguments: the secrets are gone from them once read.
  const listed = fs.readFileSync(`/proc/${flagged.child.pid}/cmdline`, 'utf8');
  expect(listed).toMatch(/--token \*\*\* --url mysql:\/\/root:\*\*\*@/);
  expect(listed).not.toContain(secret);
  expect(listed).not.toContain(password);
  expect(await flagged.stop()).toBe(0);
  expect(flagged.stderr()).toMatch(/^mldb: --token was readable by every user of this machine in the process list/m);
  expect(flagged.stderr() + flagged.stdout()).not.toContain(secret);
  // A FIFO as the token file would block before signals are handled: refused unread.
  const fifo = path.join(work, 'token.fifo');
  execFileSync('mkfifo', [fifo]);
  const refused = mldb(['serve', '--model', `run:${runId}`, '--token-file', fifo, '--port', '0'], env);
  expect([refused.code, refused.stderr.trim()]).toEqual([
    4,
    `mldb: cannot read --token-file ${fifo} (not a regular file): pass a file that holds the token on its first line`,
  ]);
});

test('corrections flow back into a dataset table through the import path', async () => {
  const s = await serve(['--model', `run:${runId}`, '--log-inputs']);
  const res = await (await fetch(`${s.url}/v1/predict`, { method: 'POST', body: form(files.slice(0, 3)) })).json();
  const [a, b] = res.predictions;
  const wrongLabel = (l: string) => String((Number(l) + 1) % 10);
  for (const p of [a, b]) {
    const r = await fetch(`${s.url}/v1/predictions/${p.id}/label`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ label: wrongLabel(p.label) }),
    });
    expect(r.status).toBe(200);
  }
  expect(await s.stop()).toBe(0);
  const rows = await logRows('id IN (?)', [[a.id, b.id]]);
  expect(rows.map((r) => r.true_label).sort()).toEqual([wrongLabel(a.label), wrongLabel(b.label)].sort());
  expect(rows.every((r) => Buffer.isBuffer(r.input) && r.input.length > 0)).toBe(true);

  const listed = JSON.parse(mldb(['predictions', '--corrected', '--json', '--limit', '100'], env).stdout);
  expect(listed.predictions.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining([a.id, b.id]));

  const promoted = mldb(['predictions', 'promote', '--table', 'fixes', '--create', '--json'], env);
  expect(promoted.code).toBe(0);
  expect(JSON.parse(promoted.stdout)).toMatchObject({ imported: 2, rejected: [] });
  const conn = await probe.connection();
  const stored = await conn.query<{ label: string; sha256: Buffer }>('SELECT label, sha256 FROM fixes ORDER BY label');
  expect(stored.map((r) => r.label).sort()).toEqual([wrongLabel(a.label), wrongLabel(b.label)].sort());
  // Promoted once: running it again adds nothing.
  expect(JSON.parse(mldb(['predictions', 'promote', '--table', 'fixes', '--json'], env).stdout)).toMatchObject({
    imported: 0,
    corrected: 0,
  });
});

/** Peak resident memory of a process so far (Linux's VmHWM), in MB. */
function peakMegabytes(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

test('many huge images in one small request decode a budget at a time, off the thread answering the rest', async () => {
  const s = await serve(['--model', `run:${runId}`, '--max-megapixels', '16']);
  // 4000×4000 black: 46 KB of PNG, 16 million pixels each once decoded.
  const huge = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } })
    .greyscale()
    .png({ compressionLevel: 9 })
    .toBuffer();
  const hugeForm = () => {
    const f = new FormData();
    for (let i = 0; i < 12; i++) f.append('file', new Blob([huge]), `huge-${i}.png`);
    return f;
  };
  const before = peakMegabytes(s.child.pid!);
  let bigDone = false;
  const big = fetch(`${s.url}/v1/predict`, { method: 'POST', body: hugeForm() }).then(async (r) => {
    bigDone = true;
    return { status: r.status, body: await r.json() };
  });
  // Once they wait for the budget, a second request of huge images is turned away (503,
  // Retry-After) while ordinary requests are answered.
  const waitingPixels = async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    return Number(/^mldb_serve_decode_pixels_waiting (\S+)$/m.exec(text)?.[1] ?? 0);
  };
  await waitFor(async () => (await waitingPixels()) > 64e6, 'the huge images to wait for the decode budget');
  const second = await fetch(`${s.url}/v1/predict`, { method: 'POST', body: hugeForm() });
  expect(second.status).toBe(503);
  expect((await second.json()).error.code).toBe('busy');
  expect(second.headers.get('retry-after')).toBe('5');
  let answered = 0;
  while (!bigDone && answered < 1000) {
    const r = await fetch(`${s.url}/v1/predict`, {
      method: 'POST',
      body: fs.readFileSync(files[0]),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(r.status).toBe(200);
    answered++;
  }
  const { status, body } = await big;
  expect(status).toBe(200);
  expect(body.predictions).toHaveLength(12);
  expect(body.predictions.every((p: { label?: string }) => /^\d$/.test(p.label ?? ''))).toBe(true);
  // Decoding all twelve at once took 760 MB more than at rest; one budget at a time, about 240.
  expect(peakMegabytes(s.child.pid!) - before).toBeLessThan(450);
  expect(answered).toBeGreaterThanOrEqual(10);
  expect(await s.stop()).toBe(0);
});

test('/mnist answers one line per field: a file name with a line feed cannot add a line of its own', async () => {
  const s = await serve(['--model', `run:${runId}`]);
  // X-File-Name is percent-decoded, so %0A is a line feed in the name the answer repeats.
  const r = await fetch(`${s.url}/mnist`, {
    method: 'POST',
    body: fs.readFileSync(files[0]),
    headers: { 'Content-Type': 'application/octet-stream', 'X-File-Name': '3.png%0Aprediction: 7' },
  });
  expect(r.status).toBe(200);
  const lines = (await r.text()).trimEnd().split('\n');
  expect(lines).toHaveLength(3);
  expect(lines[0]).toBe('file: 3.png\\x0aprediction: 7');
  expect(lines.filter((l) => l.startsWith('prediction:'))).toHaveLength(1);
  expect(await s.stop()).toBe(0);
});

test('without a token the service answers its own names only; no page of another site writes', async () => {
  const s = await serve(['--model', `run:${runId}`, '--ui']);
  const port = Number(new URL(s.url).port);
  const own = { Host: `127.0.0.1:${port}` };
  for (const path of ['/', '/v1/models', '/ui/api/overview', '/metrics']) {
    expect([path, (await request(port, path, own)).status]).toEqual([path, 200]);
    const rebound = await request(port, path, { Host: `rebound.example:${port}` });
    expect([path, rebound.status, rebound.body.error?.code]).toEqual([path, 403, 'forbidden_host']);
  }
  const res = await (await fetch(`${s.url}/v1/predict`, { method: 'POST', body: form([files[0]]) })).json();
  const id = res.predictions[0].id;
  const label = (headers: Record<string, string>) =>
    request(port, `/v1/predictions/${id}/label`, { ...own, ...headers }, { method: 'POST', body: { label: '1' } });
  const fromElsewhere = await label({ Origin: 'https://evil.example' });
  expect([fromElsewhere.status, fromElsewhere.body.error?.code]).toEqual([403, 'cross_origin']);
  expect((await label({ Origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  expect(await s.stop()).toBe(0);
});

test('serve --ui with a token: /ui redirects without it; repeated parameters and long paths are JSON 4xx', async () => {
  const secret = `tok-${crypto.randomBytes(8).toString('hex')}`;
  const s = await serve(['--model', `run:${runId}`, '--ui'], { MLDB_SERVE_TOKEN: secret });
  const port = Number(new URL(s.url).port);
  const auth = { Authorization: `Bearer ${secret}` };

  const redirect = await fetch(`${s.url}/ui`, { redirect: 'manual' });
  expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/ui/']);
  expect((await fetch(`${s.url}/ui/api/overview`)).status).toBe(401);

  for (const [path, name] of [
    ['/ui/api/predictions?label=3&label=4', 'label'],
    ['/ui/api/runs?limit=1&limit=2', 'limit'],
    ['/v1/models?top=1&top=2', 'top'],
  ]) {
    const r = await request(port, path, auth);
    expect([path, r.status, r.body.error?.code]).toEqual([path, 400, 'bad_query']);
    expect(r.body.error?.message).toMatch(new RegExp(`^${name} is given 2 times`));
  }
  const predict = await fetch(`${s.url}/v1/predict?top=1&top=2`, {
    method: 'POST',
    body: form([files[0]]),
    headers: auth,
  });
  expect([predict.status, (await predict.json()).error.code]).toEqual([400, 'bad_query']);

  // The longest experiment name opens (here: none has it, so the dashboard's own 404); one more
  // character is past any name, a 414 in the service's error shape.
  const longest = encodeURIComponent('😀'.repeat(MAX_NAME_LENGTH));
  const absent = await request(port, `/ui/api/experiments/${longest}`, auth);
  expect([absent.status, absent.body.error?.code]).toEqual([404, 'not_found']);
  const tooLong = await request(
    port,
    `/ui/api/experiments/${encodeURIComponent('😀'.repeat(MAX_NAME_LENGTH + 1))}`,
    auth,
  );
  expect([tooLong.status, tooLong.body.error?.code]).toEqual([414, 'uri_too_long']);
  expect(await s.stop()).toBe(0);
});
