import sharp from 'sharp';
import { isCompleteImage } from '../../src/ingest/complete-image';
import { entryParts } from '../../src/ingest/archive';
import { resolveLayout, splitOfFolder } from '../../src/ingest/layout';
import { grayPng } from '../helpers/fixtures';

/** What a watch may take at once: a whole image, never any strict prefix of one. */
describe('isCompleteImage', () => {
  const cases: Array<[string, () => Promise<Buffer>]> = [
    ['png', async () => grayPng(16, 16, 7)],
    [
      'jpeg',
      () =>
        sharp(grayPng(16, 16, 7))
          .jpeg()
          .toBuffer(),
    ],
    // A JPEG with EXIF data: an end-of-image marker can appear before the real end.
    [
      'jpeg with exif',
      () =>
        sharp(grayPng(16, 16, 7))
          .jpeg()
          .withExif({ IFD0: { Copyright: 'mldb' } })
          .toBuffer(),
    ],
    [
      'webp',
      () =>
        sharp(grayPng(16, 16, 7))
          .webp()
          .toBuffer(),
    ],
  ];
  test.each(cases)('%s: whole is complete, every prefix is not', async (_name, make) => {
    const bytes = await make();
    expect(isCompleteImage(bytes)).toBe(true);
    for (let n = 0; n < bytes.length; n++)
      expect({ n, complete: isCompleteImage(bytes.subarray(0, n)) }).toEqual({ n, complete: false });
  });

  test('formats without framing (gif, tiff, text) wait for the settle window', async () => {
    expect(
      isCompleteImage(
        await sharp(grayPng(8, 8, 1))
          .gif()
          .toBuffer(),
      ),
    ).toBe(false);
    expect(
      isCompleteImage(
        await sharp(grayPng(8, 8, 1))
          .tiff()
          .toBuffer(),
      ),
    ).toBe(false);
    expect(isCompleteImage(Buffer.from('hello'))).toBe(false);
  });
});

describe('archive entry names and layouts', () => {
  test('absolute names and .. are refused; ./ and empty parts are dropped', () => {
    expect(entryParts('./cat/a.png')).toEqual(['cat', 'a.png']);
    expect(entryParts('cat//a.png')).toEqual(['cat', 'a.png']);
    expect(entryParts('cat\\a.png')).toEqual(['cat', 'a.png']);
    expect(entryParts('/etc/passwd')).toMatch(/absolute/);
    expect(entryParts('C:/x/a.png')).toMatch(/absolute/);
    expect(entryParts('cat/../../a.png')).toMatch(/leaves the archive/);
  });

  test('split folder names follow the imagefolder convention', () => {
    expect(['train', 'Training', 'val', 'valid', 'dev', 'validation', 'test', 'eval'].map(splitOfFolder)).toEqual([
      'train',
      'train',
      'validation',
      'validation',
      'validation',
      'validation',
      'test',
      'test',
    ]);
    expect(splitOfFolder('cat')).toBeUndefined();
    expect(splitOfFolder('constructor')).toBeUndefined();
    expect(resolveLayout('auto', ['train', 'test'])).toBe('splits');
    expect(resolveLayout('auto', ['train', 'cat'])).toBe('labels');
    expect(resolveLayout('auto', [])).toBe('labels');
    expect(resolveLayout('labels', ['train'])).toBe('labels');
  });
});
