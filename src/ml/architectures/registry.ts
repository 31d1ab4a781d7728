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
