import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { openArchiveFile, openArchiveStream } from '../../src/ingest/archive';
import { openManifest } from '../../src/ingest/manifest';
import { freshDatabase } from '../helpers/db';
import { grayPng, makeLabeledFolder, tempDir } from '../helpers/fixtures';

/**
 * Every source goes through the same pipeline: a folder, its split layout, a manifest, tar,
 * tar.gz and zip archives and a tar stream give the same rows (label, split, hash, source).
 */
const db = freshDatabase();
afterAll(() => db.cleanup());

type Row = { label: string; split: string; sha: string; source: string };

async function rows(table: string): Promise<Row[]> {
  const conn = await db.mldb().connection();
  const r = await conn.query<{ label: string; split: string; sha: Buffer; source: string }>(
    `SELECT label, split, sha256 AS sha, source FROM \`${table}\` ORDER BY sha256`,
  );
  return r.map((x) => ({ label: x.label, split: x.split, sha: x.sha.toString('hex'), source: x.source }));
}

const folder = makeLabeledFolder({ cat: 12, dog: 9, 'a b': 5 }, 8);

test('tar, tar.gz, zip, a wrapper folder and a tar stream import to the same rows as the folder', async () => {
  const m = db.mldb();
  await m.insertFolder(folder, { table: 'from_folder', create: true });
  const expected = await rows('from_folder');
  expect(expected).toHaveLength(26);

  const work = tempDir();
  const tarFile = path.join(work, 'd.tar');
  const tgz = path.join(work, 'd.tgz');
  const zip = path.join(work, 'd.zip');
  const wrapped = path.join(work, 'wrapped.tar.gz');
  execFileSync('tar', ['-C', folder, '-cf', tarFile, '.']);
  execFileSync('tar', ['-C', folder, '-czf', tgz, '.']);
  execFileSync('tar', ['-C', path.dirname(folder), '-czf', wrapped, path.basename(folder)]);
  await zipFolder(folder, zip);

  const sources = {
    tar: () => openArchiveFile(tarFile, 'tar'),
    tgz: () => openArchiveFile(tgz, 'tar.gz'),
    zip: () => openArchiveFile(zip, 'zip'),
    wrapped: () => openArchiveFile(wrapped, 'tar.gz'),
    stream: () => openArchiveStream(Readable.from([fs.readFileSync(tgz)])),
  };
  for (const [name, open] of Object.entries(sources)) {
    const summary = await m.insertFrom(await open(), { table: `from_${name}`, create: true });
    expect({ name, rejected: summary.rejected }).toEqual({ name, rejected: [] });
    expect({ name, rows: await rows(`from_${name}`) }).toEqual({ name, rows: expected });
    // A second import of the same archive adds nothing.
    const again = await m.insertFrom(await open(), { table: `from_${name}` });
    expect(again.imported).toBe(0);
    expect(again.alreadyPresent).toBe(26);
  }
});

/** A zip of `dir`'s files with `zip` when present, else built with Node (stored entries). */
async function zipFolder(dir: string, out: string): Promise<void> {
  const files = execFileSync('find', ['.', '-type', 'f'], { cwd: dir, encoding: 'utf8' }).trim().split('\n');
  try {
    execFileSync('zip', ['-q', out, ...files], { cwd: dir });
  } catch {
    fs.writeFileSync(
      out,
      storedZip(files.map((f) => ({ name: f.slice(2), data: fs.readFileSync(path.join(dir, f)) }))),
    );
  }
}

/** A minimal zip (method 0, no compression), for machines without the zip tool. */
function storedZip(entries: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const crc = zlib.crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.data);
    centrals.push(central, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

test('hostile tar entries are refused one by one; the good ones are imported', async () => {
  const pack = tar.pack();
  const entries: Array<[tar.Headers, Buffer?]> = [
    [{ name: '../evil/x.png' }, grayPng(8, 8, 901)],
    [{ name: '/etc/x.png' }, grayPng(8, 8, 902)],
    [{ name: 'ok/a/../../../y.png' }, grayPng(8, 8, 903)],
    [{ name: 'ok/link.png', type: 'symlink', linkname: '/etc/passwd' }],
    [{ name: 'loose.png' }, grayPng(8, 8, 904)],
    [{ name: 'ok/good.png' }, grayPng(8, 8, 905)],
    [{ name: 'ok/.hidden.png' }, grayPng(8, 8, 906)],
  ];
  for (const [header, data] of entries) pack.entry(header, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const file = path.join(tempDir(), 'hostile.tar');
  fs.writeFileSync(file, Buffer.concat(chunks));

  const summary = await db.mldb().insertFrom(await openArchiveFile(file, 'tar'), { table: 'hostile', create: true });
  expect(summary.imported).toBe(1);
  expect((await rows('hostile')).map((r) => `${r.label} ${r.source}`)).toEqual(['ok ok/good.png']);
  const reasons = Object.fromEntries(summary.rejected.map((r) => [r.path.replace('hostile.tar:', ''), r.reason]));
  expect(reasons).toEqual({
    '../evil/x.png': expect.stringMatching(/leaves the archive/),
    '/etc/x.png': expect.stringMatching(/absolute path/),
    'ok/a/../../../y.png': expect.stringMatching(/leaves the archive/),
    'ok/link.png': expect.stringMatching(/not a regular file \(symlink/),
    'loose.png': expect.stringMatching(/not inside a label folder/),
  });
});

test('a split layout imports into its splits; --split forces one; given splits survive re-imports', async () => {
  const root = tempDir();
  for (const [split, label, n] of [
    ['train', 'x', 6],
    ['train', 'y', 6],
    ['val', 'x', 3],
    ['test', 'y', 4],
  ] as const) {
    fs.mkdirSync(path.join(root, split, label), { recursive: true });
    for (let i = 0; i < n; i++)
      fs.writeFileSync(
        path.join(root, split, label, `${i}.png`),
        grayPng(8, 8, 1000 + split.length * 100 + i * 7 + label.charCodeAt(0)),
      );
  }
  const m = db.mldb();
  const summary = await m.insertFolder(root, { table: 'splits', create: true });
  expect(summary.layout).toBe('splits');
  const got = await rows('splits');
  const bySplit = (r: Row[]) =>
    r.reduce<Record<string, number>>(
      (acc, x) => ((acc[`${x.split}/${x.label}`] = (acc[`${x.split}/${x.label}`] ?? 0) + 1), acc),
      {},
    );
  expect(bySplit(got)).toEqual({ 'train/x': 6, 'train/y': 6, 'validation/x': 3, 'test/y': 4 });
  expect(got.find((r) => r.source.startsWith('val/x/'))).toBeDefined();

  // An official test set forced into test, then the same files re-imported with the default: still test.
  const official = makeLabeledFolder({ x: 4, y: 4 }, 9);
  await m.insertFolder(official, { table: 'forced', create: true, split: 'test' });
  await m.insertFolder(official, { table: 'forced' });
  expect(new Set((await rows('forced')).map((r) => r.split))).toEqual(new Set(['test']));

  // --layout labels reads the same folder as labels named after the split folders.
  const asLabels = await m.insertFolder(root, { table: 'as_labels', create: true, layout: 'labels' });
  expect(asLabels.layout).toBe('labels');
  expect(new Set((await rows('as_labels')).map((r) => r.label))).toEqual(new Set(['train', 'val', 'test']));
});

test('a CSV manifest (header in any order) and a positional TSV label a flat folder; bad rows rejected', async () => {
  const dir = tempDir();
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(dir, `img${i}.png`), grayPng(8, 8, 2000 + i));
  fs.writeFileSync(path.join(path.dirname(dir), 'outside.png'), grayPng(8, 8, 2100));
  const csv = path.join(dir, 'labels.csv');
  fs.writeFileSync(
    csv,
    '\ufeffsplit,filename,label\r\n' +
      'test,img0.png,cat\r\n' +
      ',img1.png,"dog, big"\r\n' +
      'train,img2.png,cat\r\n' +
      'nonsense,img3.png,cat\r\n' +
      ',../outside.png,cat\r\n' +
      ',missing.png,cat\r\n' +
      ',img4.png,\r\n',
  );
  const m = db.mldb();
  const summary = await m.insertFrom(openManifest(csv, dir), { table: 'manifest', create: true });
  expect(summary.imported).toBe(3);
  const got = await rows('manifest');
  expect(got.map((r) => `${r.source} ${r.label}`).sort()).toEqual([
    'img0.png cat',
    'img1.png dog, big',
    'img2.png cat',
  ]);
  expect(got.find((r) => r.source === 'img0.png')!.split).toBe('test');
  expect(got.find((r) => r.source === 'img2.png')!.split).toBe('train');
  const reasons = summary.rejected.map((r) => r.reason).join('\n');
  expect(reasons).toMatch(/unknown split "nonsense"/);
  expect(reasons).toMatch(/outside the folder/);
  expect(reasons).toMatch(/cannot read \(ENOENT\)/);
  expect(reasons).toMatch(/no label for img4.png/);

  const tsv = path.join(dir, 'more.tsv');
  fs.writeFileSync(tsv, 'img4.png\tbird\nimg5.png\tbird\tvalidation\n');
  const more = await m.insertFrom(openManifest(tsv, dir), { table: 'manifest' });
  expect(more.imported).toBe(2);
  expect((await rows('manifest')).find((r) => r.source === 'img5.png')!.split).toBe('validation');
});
