import { confusionHeatmap, fitText, textWidth } from '../../src/report/svg';

/** The labels drawn in a heatmap's SVG, with their box as the layout estimates it. */
function labelBoxes(svg: string): Array<{ text: string; x0: number; x1: number; y0: number; y1: number }> {
  const boxes = [];
  const re =
    /<text x="([\d.]+)" y="([\d.]+)"[^>]*font-size="(\d+)" text-anchor="(\w+)"[^>]*?(rotate\([^)]*\))?"?>([^<]*)</g;
  for (const m of svg.matchAll(re)) {
    const [x, y, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const content = m[6].replace(/&amp;/g, '&');
    const w = textWidth(content, size);
    const start = m[4] === 'end' ? x - w : m[4] === 'middle' ? x - w / 2 : x;
    boxes.push(
      m[5] // rotated -90° about (x, y): the text runs upwards from y
        ? { text: content, x0: x - size, x1: x, y0: y - w, y1: y }
        : { text: content, x0: start, x1: start + w, y0: y - size * 0.8, y1: y + size * 0.2 },
    );
  }
  return boxes;
}

function overlaps(boxes: ReturnType<typeof labelBoxes>): string[] {
  const out: string[] = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.x0 < b.x1 - 0.5 && b.x0 < a.x1 - 0.5 && a.y0 < b.y1 - 0.5 && b.y0 < a.y1 - 0.5)
        out.push(`${a.text} / ${b.text}`);
    }
  return out;
}

function size(svg: string): { width: number; height: number } {
  return { width: Number(/width="(\d+)"/.exec(svg)![1]), height: Number(/height="(\d+)"/.exec(svg)![1]) };
}

const diagonal = (n: number) => [...Array(n)].map((_, r) => [...Array(n)].map((__, c) => (r === c ? 9 : (r + c) % 3)));
const fashion = [
  't-shirt/top',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'ankle boot',
];
const birds = [...Array(60)].map(
  (_, i) => `species ${i} ${['northern cardinal', 'blue jay', 'red-tailed hawk'][i % 3]}`,
);

describe('report layout: labels never overlap and stay inside the image', () => {
  test.each([
    ['10 digits', [...Array(10)].map((_, i) => String(i))],
    ['10 word labels', fashion],
    ['60 long labels', birds],
    ['a 300-character label', ['a'.repeat(300), 'b', 'c']],
    ['wide scripts', ['猫', '犬', 'カワセミ', 'ñandú']],
  ])('%s', (_, labels) => {
    const svg = confusionHeatmap({ title: 'confusion', labels, matrix: diagonal(labels.length), size: 800 });
    const boxes = labelBoxes(svg);
    expect(overlaps(boxes)).toEqual([]);
    const { width, height } = size(svg);
    const outside = boxes.filter((b) => b.x0 < 0 || b.y0 < 0 || b.x1 > width || b.y1 > height).map((b) => b.text);
    expect(outside).toEqual([]);
  });

  test('digits keep 800 px with names on both axes; 60 classes grow the image and index the columns', () => {
    const digits = confusionHeatmap({ title: 't', labels: ['0', '1', '2'], matrix: diagonal(3), size: 800 });
    expect(size(digits)).toEqual({ width: 800, height: 800 });
    const many = confusionHeatmap({ title: 't', labels: birds, matrix: diagonal(60), size: 800 });
    expect(size(many).width).toBeGreaterThan(800);
    expect(many).toContain('>59  species 59 red-tailed hawk<');
    expect(many).toMatch(/rotate\(-90 [\d.]+ [\d.]+\)">59</);
  });

  test('fitText cuts with an ellipsis only when needed', () => {
    expect(fitText('coat', 100, 12)).toBe('coat');
    const cut = fitText('true: a very long label indeed', 80, 12);
    expect(cut.endsWith('…')).toBe(true);
    expect(textWidth(cut, 12)).toBeLessThanOrEqual(80);
  });
});
