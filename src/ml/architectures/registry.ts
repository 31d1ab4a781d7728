import { UsageError } from '../../errors';
import { kerasMnistCnn } from './keras-mnist-cnn';
import { lenet5 } from './lenet';
import { resnetSmall } from './resnet';
import { simpleCnn } from './simple-cnn';
import { simplerCnn } from './simpler-cnn';
import type { Architecture } from './types';
import { bigXception, miniXception, tinyXception } from './xception';

/** Every named architecture, by the name users type (`--model NAME`). */
export const ARCHITECTURES: ReadonlyMap<string, Architecture> = new Map(
  [simpleCnn, simplerCnn, tinyXception, miniXception, bigXception, lenet5, resnetSmall, kerasMnistCnn].map((a) => [
    a.name,
    a,
  ]),
);

/** Accepts the original spellings too (simple_CNN, mini_XCEPTION): case-insensitive. */
export function getArchitecture(name: string): Architecture {
  const a = ARCHITECTURES.get(name.toLowerCase());
  if (!a) throw new UsageError(`unknown model "${name}"`, `use one of ${[...ARCHITECTURES.keys()].join(', ')}`);
  return a;
}

/** Whether images of this height and width leave every layer of the architecture a pixel. */
export function fitsArchitecture(a: Architecture, shape: { height: number; width: number }): boolean {
  return shape.height >= a.minSize && shape.width >= a.minSize;
}

/** Refuses, up front and in one line, a shape the architecture cannot train on. */
export function requireFit(a: Architecture, shape: { height: number; width: number }): void {
  if (fitsArchitecture(a, shape)) return;
  const anySize = [...ARCHITECTURES.values()].filter((x) => x.minSize <= 1).map((x) => x.name);
  throw new UsageError(
    `${a.name} needs images of at least ${a.minSize}x${a.minSize} pixels; these are ${shape.height}x${shape.width}`,
    `use a table of a larger --size, or a model that takes any size (${anySize.join(', ')})`,
    { field: 'model', reason: 'shape-too-small' },
  );
}
