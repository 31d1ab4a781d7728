import { inspect } from 'node:util';
import { describeTarget, maskUrl, resolveConfig } from '../../src/config';
import { isMldbError } from '../../src/errors';
import { mulberry32 } from '../../src/ml/seeded';

/**
 * Property: whatever a password holds (`@`, `:`, `/`, `%`, `#`, `?`, malformed escapes, encoded
 * or not), no part of it longer than two characters appears in anything mldb prints about a
 * database URL — the error for a URL that does not parse, the parsed target, the config in
 * JSON or util.inspect. 3,000 generated URLs, seeded so a failure reproduces.
 */
const SPECIAL = [
  '@',
  ':',
  '/',
  '%',
  '#',
  '?',
  '%zz',
  '%4',
  '%40',
  '%25',
  '!',
  '$',
  '&',
  "'",
  '(',
  '*',
  '+',
  ',',
  ';',
  '=',
  ' ',
];
// Letters that appear nowhere in the fixed parts of the URL, so any window of them is the password's.
const RARE = 'QXJZKVWqxjzkvw';

function password(random: () => number): string {
  const n = 6 + Math.floor(random() * 14);
  let out = '';
  for (let i = 0; i < n; i++) {
    out += random() < 0.35 ? SPECIAL[Math.floor(random() * SPECIAL.length)] : RARE[Math.floor(random() * RARE.length)];
  }
  return out;
}

/** Windows of 3+ characters of the password made of its rare letters: what must never show. */
function telltales(pw: string): string[] {
  return [...pw.matchAll(/[QXJZKVWqxjzkvw]{3,}/g)].map((m) => m[0]);
}

function printed(url: string): string[] {
  try {
    const config = resolveConfig({ url }, {}, '/nonexistent-cwd-for-tests');
    return [describeTarget(config), JSON.stringify(config), inspect(config, { depth: 5 }), maskUrl(url)];
  } catch (e) {
    if (!isMldbError(e)) throw e;
    return [e.message, e.hint ?? '', maskUrl(url)];
  }
}

test('no part of a password leaks from any database URL, parseable or not', () => {
  const random = mulberry32(20261121);
  const leaks: Array<{ url: string; text: string }> = [];
  for (let i = 0; i < 3000; i++) {
    const pw = password(random);
    const encoded = random() < 0.5 ? encodeURIComponent(pw) : pw;
    const url = `mysql://mldb_user:${encoded}@db.example:3306/datasets`;
    const marks = telltales(pw).concat(telltales(encoded));
    for (const text of printed(url)) {
      if (marks.some((m) => text.includes(m))) leaks.push({ url, text });
    }
    if (leaks.length > 5) break;
  }
  expect(leaks).toEqual([]);
});

test('a URL whose password holds @ is masked up to the last @', () => {
  expect(maskUrl('mysql://u:p@ss@h/db')).toBe('mysql://u:***@h/db');
  expect(maskUrl('mysql://u:a/b:c@h:1/db')).toBe('mysql://u:***@h:1/db');
  expect(maskUrl('mysql://u@h:3306/db')).toBe('mysql://u@h:3306/db');
  expect(maskUrl('u:secret@h')).toBe('***');
});
