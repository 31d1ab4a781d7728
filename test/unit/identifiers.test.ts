import { escapeId, validateTableName } from '../../src/db/identifiers';
import { UsageError } from '../../src/errors';

describe('validateTableName', () => {
  test.each(['images', 'digits_2024', '_private', 'A', 'x'.repeat(64)])('accepts %s', (name) => {
    expect(validateTableName(name)).toBe(name);
  });

  test.each([
    ['quote', "im'ages"],
    ['double quote', 'im"ages'],
    ['backtick', 'im`ages'],
    ['statement separator', 'images; DROP TABLE users'],
    ['comment', 'images--'],
    ['space', 'my images'],
    ['leading digit', '2images'],
    ['reserved word', 'select'],
    ['reserved word, other case', 'Table'],
    ['too long', 'x'.repeat(65)],
    ['empty', ''],
    ['internal prefix', 'mldb_runs'],
    ['non-ASCII', 'bilder_ä'],
  ])('refuses a %s', (_why, name) => {
    expect(() => validateTableName(name)).toThrow(UsageError);
  });

  test('escapeId quotes and doubles backticks', () => {
    expect(escapeId('a`b')).toBe('`a``b`');
  });
});
