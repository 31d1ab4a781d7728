import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import mysql from 'mysql2/promise';
import sharp from 'sharp';
import { PNG } from 'pngjs';
import { mldb } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { grayPng, rgbPng, tempDir } from '../helpers/fixtures';

/**
 * A hostile tester's folder, imported in one run: bombs, lying headers, truncated and foreign
 * files, odd and non-UTF-8 names, links to devices and loops, FIFOs, long paths and labels,
 * duplicates and conflicts. Each case says its outcome; the test checks every one of them, and
 * that every good file is stored with its exact label and source path.
 */

type Outcome =
  | { stored: string } // the label its row must carry
  | { duplicate: true } // identical to an earlier file of this import: no row of its own
  | { conflict: string } // identical to a file under this other label: reported, stored once
  | { skipped: true } // hidden: neither stored nor rejected
  | { rejected: RegExp };

interface Case {
  /** Path under the corpus root, `/`-separated. */
  rel: string;
  make: (abs: string) => void;
  expect: Outcome;
}

const db = freshDatabase();
afterAll(() => db.cleanup());

let seed = 1000;
const png = (side = 16) => grayPng(side, side, seed++);
const write = (bytes: Buffer | string) => (abs: string) => fs.writeFileSync(abs, bytes);

/** A PNG whose header says width × height, and whose CRC still matches (a lying, not a broken, header). */
function pngWithHeader(width: number, height: number): Buffer {
  const bytes = Buffer.from(png());
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes.writeUInt32BE(zlib.crc32(bytes.subarray(12, 29)), 29);
  return bytes;
}

/** A real decompression bomb: width × height gray zeros, a few kilobytes on disk. */
function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // gray
  const raw = Buffer.alloc((width + 1) * height); // filter byte 0 + zero pixels per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Patches a JPEG's frame header (SOF) to declare another size. */
function jpegWithHeader(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i < out.length - 9;) {
    const marker = out[i + 1];
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + out.readUInt16BE(i + 2);
  }
  throw new Error('no SOF marker');
}

function sixteenBitPng(): Buffer {
  const p = new PNG({ width: 16, height: 16, bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  p.data = Buffer.alloc(16 * 16 * 2);
  for (let i = 0; i < 256; i++) p.data.writeUInt16BE(i * 257, i * 2);
  return PNG.sync.write(p, { bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

function alphaPng(): Buffer {
  const p = new PNG({ width: 16, height: 16 });
  for (let i = 0; i < 256; i++) p.data.set([i, 255 - i, (i * 3) & 0xff, i & 0x7f], i * 4);
  return PNG.sync.write(p);
}

async function buildCorpus(root: string, packet: number): Promise<Case[]> {
  const image = () => sharp(rgbPng(16, 16, 7));
  const jpeg = await image().jpeg().toBuffer();
  const progressiveJpeg = await image().jpeg({ progressive: true, quality: 70 }).toBuffer();
  const grayJpeg = await image().grayscale().jpeg().toBuffer();
  const webp = await image().webp().toBuffer();
  const gif = await image().gif().toBuffer();
  const tiff = await image().tiff().toBuffer();
  const palettePng = await image().png({ palette: true, colours: 8 }).toBuffer();
  const interlacedPng = await image().png({ progressive: true }).toBuffer();
  const animatedGif = await sharp(Buffer.concat([grayPng(8, 16, 5), grayPng(8, 16, 6)]), {
    raw: { width: 8, height: 16, channels: 1 },
  })
    .gif()
    .toBuffer()
    .catch(() => gif);
  const twin = png();
  const conflictTwin = png();
  const goodOutside = png();
  const outside = tempDir('mldb-outside-');
  fs.writeFileSync(path.join(outside, 'linked.png'), goodOutside);
  // Noise does not compress: a file over half of max_allowed_packet cannot go in one row.
  const hugeSide = Math.ceil(Math.sqrt(packet * 0.6));
  const huge = new PNG({ width: hugeSide, height: hugeSide, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  for (let i = 0; i < huge.data.length; i++) huge.data[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
  const hugePng = PNG.sync.write(huge, { colorType: 0, inputColorType: 0, inputHasAlpha: false, deflateLevel: 0 });

  const longLabel = 'L'.repeat(192);
  const longestLabel = 'M'.repeat(191);
  const deep = [...Array(5)].map((_, i) => `${i}${'d'.repeat(219)}`).join('/');

  const cases: Case[] = [
    // Good files in every supported form.
    { rel: 'digits/plain.png', make: write(png()), expect: { stored: 'digits' } },
    { rel: 'digits/colour.png', make: write(rgbPng(16, 16, 3)), expect: { stored: 'digits' } },
    { rel: 'digits/photo.jpg', make: write(jpeg), expect: { stored: 'digits' } },
    { rel: 'digits/progressive.jpg', make: write(progressiveJpeg), expect: { stored: 'digits' } },
    { rel: 'digits/gray.jpg', make: write(grayJpeg), expect: { stored: 'digits' } },
    { rel: 'digits/picture.webp', make: write(webp), expect: { stored: 'digits' } },
    { rel: 'digits/picture.gif', make: write(gif), expect: { stored: 'digits' } },
    { rel: 'digits/animated.gif', make: write(animatedGif), expect: { stored: 'digits' } },
    { rel: 'digits/picture.tiff', make: write(tiff), expect: { stored: 'digits' } },
    { rel: 'digits/palette.png', make: write(palettePng), expect: { stored: 'digits' } },
    { rel: 'digits/interlaced.png', make: write(interlacedPng), expect: { stored: 'digits' } },
    { rel: 'digits/sixteen-bit.png', make: write(sixteenBitPng()), expect: { stored: 'digits' } },
    { rel: 'digits/alpha.png', make: write(alphaPng()), expect: { stored: 'digits' } },
    { rel: 'digits/one-pixel.png', make: write(grayPng(1, 1, 77)), expect: { stored: 'digits' } },
    { rel: 'digits/wide.png', make: write(grayPng(900, 1, 78)), expect: { stored: 'digits' } },
    { rel: 'digits/png-named.jpg', make: write(png()), expect: { stored: 'digits' } },
    { rel: 'digits/no-extension', make: write(png()), expect: { stored: 'digits' } },
    { rel: 'digits/UPPER.PNG', make: write(png()), expect: { stored: 'digits' } },
    { rel: 'digits/nested/deeper/inside.png', make: write(png()), expect: { stored: 'digits' } },
    // Odd names: kept exactly in the source and label columns.
    { rel: 'digits/ütf ñame 字.png', make: write(png()), expect: { stored: 'digits' } },
    { rel: 'digits/new\nline.png', make: write(png()), expect: { stored: 'digits' } },
    { rel: 'digits/\u001b[31mred.png', make: write(png()), expect: { stored: 'digits' } },
    { rel: 'digits/--help.png', make: write(png()), expect: { stored: 'digits' } },
    { rel: 'digits/100%.png', make: write(png()), expect: { stored: 'digits' } },
    {
      rel: "Robert'); DROP TABLE corpus;--/x.png",
      make: write(png()),
      expect: { stored: "Robert'); DROP TABLE corpus;--" },
    },
    { rel: 'cat%3A1/exported.png', make: write(png()), expect: { stored: 'cat:1' } },
    { rel: 'cat?1/raw.png', make: write(png()), expect: { stored: 'cat?1' } },
    { rel: 'sea lion/a.png', make: write(png()), expect: { stored: 'sea lion' } },
    { rel: '-rf/a.png', make: write(png()), expect: { stored: '-rf' } },
    { rel: `${longestLabel}/a.png`, make: write(png()), expect: { stored: longestLabel } },
    { rel: `digits/${'n'.repeat(250)}.png`, make: write(png()), expect: { stored: 'digits' } },
    // Duplicates and conflicts.
    { rel: 'digits/twin-a.png', make: write(twin), expect: { stored: 'digits' } },
    { rel: 'digits/twin-b.png', make: write(twin), expect: { duplicate: true } },
    { rel: 'letters/first.png', make: write(conflictTwin), expect: { stored: 'letters' } },
    { rel: 'other/same-as-letters.png', make: write(conflictTwin), expect: { conflict: 'letters' } },
    // Hidden entries are not data.
    { rel: 'digits/.DS_Store', make: write('Bud1 finder junk'), expect: { skipped: true } },
    { rel: '.git/HEAD.png', make: write(png()), expect: { skipped: true } },
    // Broken, foreign and lying files.
    { rel: 'bad/empty.png', make: write(''), expect: { rejected: /^empty file$/ } },
    { rel: 'bad/text.png', make: write('just some text'), expect: { rejected: /not a supported image/ } },
    {
      rel: 'bad/page.html',
      make: write('<html><body>hi</body></html>'),
      expect: { rejected: /not a supported image/ },
    },
    {
      rel: 'bad/drawing.svg',
      make: write('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      expect: { rejected: /not a supported image/ },
    },
    {
      rel: 'bad/bitmap.bmp',
      make: write(Buffer.from('BM6\u0000\u0000\u0000', 'latin1')),
      expect: { rejected: /not a supported image/ },
    },
    { rel: 'bad/archive.png', make: write(zlib.gzipSync(png())), expect: { rejected: /not a supported image/ } },
    { rel: 'bad/truncated.png', make: write(png(64).subarray(0, 100)), expect: { rejected: /corrupt PNG/ } },
    {
      rel: 'bad/bad-crc.png',
      make: write(Buffer.from(png()).fill(0x55, 40, 44)),
      expect: { rejected: /corrupt PNG/ },
    },
    { rel: 'bad/truncated.jpg', make: write(jpeg.subarray(0, jpeg.length >> 1)), expect: { rejected: /corrupt JPEG/ } },
    { rel: 'bad/header-only.jpg', make: write(jpeg.subarray(0, 20)), expect: { rejected: /corrupt JPEG/ } },
    { rel: 'bad/truncated.gif', make: write(gif.subarray(0, 20)), expect: { rejected: /corrupt GIF/ } },
    { rel: 'bad/truncated.webp', make: write(webp.subarray(0, 30)), expect: { rejected: /corrupt WEBP/ } },
    { rel: 'bad/truncated.tiff', make: write(tiff.subarray(0, 40)), expect: { rejected: /corrupt TIFF/ } },
    // Bombs: refused from the header, before a pixel is decoded (this run allows 1 megapixel).
    {
      rel: 'bad/lying-header.png',
      make: write(pngWithHeader(60000, 60000)),
      expect: { rejected: /60000×60000 pixels is more than the 1 megapixels allowed/ },
    },
    {
      rel: 'bad/bomb.png',
      make: write(pngBomb(2000, 1000)),
      expect: { rejected: /2000×1000 pixels is more than the 1 megapixels/ },
    },
    {
      rel: 'bad/lying-header.jpg',
      make: write(jpegWithHeader(jpeg, 65000, 65000)),
      expect: { rejected: /65000×65000 pixels is more/ },
    },
    {
      rel: 'bad/lying-header.gif',
      make: write(Buffer.concat([gif.subarray(0, 6), Buffer.from([0xff, 0xff, 0xff, 0xff]), gif.subarray(10)])),
      expect: { rejected: /65535×65535 pixels is more/ },
    },
    {
      rel: 'bad/huge.png',
      make: write(hugePng),
      expect: { rejected: /too large for the server .*raise max_allowed_packet/ },
    },
    // Paths and labels the columns cannot hold.
    { rel: `bad/${deep}/deep.png`, make: write(png()), expect: { rejected: /path longer than 1024 characters/ } },
    { rel: `${longLabel}/a.png`, make: write(png()), expect: { rejected: /label longer than 191 characters/ } },
    // Links, devices, pipes.
    {
      rel: 'digits/link-outside.png',
      make: (abs) => fs.symlinkSync(path.join(outside, 'linked.png'), abs),
      expect: { stored: 'digits' },
    },
    {
      rel: 'digits/dangling.png',
      make: (abs) => fs.symlinkSync('/nonexistent/mldb', abs),
      expect: { rejected: /broken symlink/ },
    },
    { rel: 'digits/loop', make: (abs) => fs.symlinkSync('..', abs), expect: { rejected: /symlink loop/ } },
    { rel: 'digits/self', make: (abs) => fs.symlinkSync('self', abs), expect: { rejected: /symlink loop/ } },
    {
      rel: 'digits/zero.png',
      make: (abs) => fs.symlinkSync('/dev/zero', abs),
      expect: { rejected: /not a regular file/ },
    },
    {
      rel: 'digits/random.png',
      make: (abs) => fs.symlinkSync('/dev/urandom', abs),
      expect: { rejected: /not a regular file/ },
    },
    {
      rel: 'digits/pipe.png',
      make: (abs) => execFileSync('mkfifo', [abs]),
      expect: { rejected: /not a regular file/ },
    },
    // Files where a label folder belongs.
    { rel: 'stray.png', make: write(png()), expect: { rejected: /not inside a label folder/ } },
  ];
  if (process.getuid?.() !== 0) {
    // Root reads anything: permissions only bite other users.
    cases.push({
      rel: 'bad/unreadable.png',
      make: (abs) => {
        fs.writeFileSync(abs, png());
        fs.chmodSync(abs, 0);
      },
      expect: { rejected: /cannot read \(EACCES\)/ },
    });
  }
  for (const c of cases) {
    const abs = path.join(root, c.rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    c.make(abs);
  }
  return cases;
}

/** Names that are not UTF-8 (Latin-1 bytes, as old archives and cameras write): refused as such. */
function writeNonUtf8Names(root: string): void {
  const dir = Buffer.from(path.join(root, 'digits'));
  fs.writeFileSync(Buffer.concat([dir, Buffer.from('/caf\xe9.png', 'latin1')]), png());
  const label = Buffer.concat([Buffer.from(`${root}/`), Buffer.from('\xe9t\xe9', 'latin1')]);
  fs.mkdirSync(label);
  fs.writeFileSync(Buffer.concat([label, Buffer.from('/a.png')]), png());
}

describe('a hostile corpus in one import', () => {
  test('every case gets its outcome and reason, every good file is stored exactly', async () => {
    const root = tempDir('mldb-hostile-');
    const server = new URL(db.url);
    server.pathname = '/';
    const conn = await mysql.createConnection(server.toString());
    const [[{ packet }]] = (await conn.query('SELECT @@max_allowed_packet AS packet')) as unknown as [
      { packet: number }[],
    ];
    const cases = await buildCorpus(root, Number(packet));
    writeNonUtf8Names(root);
    expect(cases.length).toBeGreaterThanOrEqual(60);

    const r = mldb(
      [
        'import',
        root,
        '--table',
        'corpus',
        '--create',
        '--size',
        '16',
        '--channels',
        '1',
        '--max-megapixels',
        '1',
        '--json',
      ],
      { MLDB_URL: db.url },
    );
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(r.code).toBe(6);
    const summary = JSON.parse(r.stdout) as {
      rejected: { path: string; reason: string }[];
      conflicts: { path: string; existingLabel: string }[];
      imported: number;
      duplicates: number;
    };
    const reasonOf = new Map(summary.rejected.map((x) => [path.relative(root, x.path), x.reason]));
    const conflictOf = new Map(summary.conflicts.map((x) => [path.relative(root, x.path), x.existingLabel]));
    await conn.query(`USE \`${db.name}\``);
    const [rows] = (await conn.query('SELECT label, source, format FROM corpus')) as unknown as [
      { label: string; source: string }[],
    ];
    const rowOf = new Map(rows.map((x) => [x.source, x.label]));
    await conn.end();

    const outcome = (rel: string): string => {
      if (reasonOf.has(rel)) return `rejected: ${reasonOf.get(rel)}`;
      if (conflictOf.has(rel)) return `conflict with ${conflictOf.get(rel)}`;
      if (rowOf.has(rel)) return `stored as ${JSON.stringify(rowOf.get(rel))}`;
      return 'not stored, not rejected';
    };
    const mismatches = cases.flatMap((c) => {
      const got = outcome(c.rel);
      const e = c.expect;
      const ok =
        'stored' in e
          ? got === `stored as ${JSON.stringify(e.stored)}`
          : 'conflict' in e
            ? got === `conflict with ${e.conflict}`
            : 'rejected' in e
              ? got.startsWith('rejected: ') && e.rejected.test(got.slice('rejected: '.length))
              : got === 'not stored, not rejected';
      return ok ? [] : [`${c.rel.slice(0, 60)}: ${got}`];
    });
    expect(mismatches).toEqual([]);
    // The two non-UTF-8 names: refused as such, not as broken links.
    const nonUtf8 = summary.rejected.filter((x) => /not valid UTF-8/.test(x.reason));
    expect(nonUtf8.map((x) => path.basename(path.dirname(x.path)) + '/' + path.basename(x.path)).sort()).toEqual([
      'digits/caf%E9.png',
      `${path.basename(root)}/%E9t%E9`,
    ]);
    expect(summary.rejected).toHaveLength(cases.filter((c) => 'rejected' in c.expect).length + 2);
    const stored = cases.filter((c) => 'stored' in c.expect);
    expect(summary.imported).toBe(stored.length);
    expect(rows).toHaveLength(stored.length);
    expect(summary.duplicates).toBe(2); // twin-b, and the conflicting copy
  });
});
