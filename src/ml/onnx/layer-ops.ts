import type { LayerOp } from './layer-op';
import { activationLayer } from './layers/activation';
import { add, dense, dropout, flatten, inputLayer } from './layers/basic';
import { batchNormalization } from './layers/batch-norm';
import { conv2d, separableConv2d } from './layers/conv';
import { averagePooling2d, globalAveragePooling2d, maxPooling2d } from './layers/pooling';

export type LayerOps = Readonly<Record<string, LayerOp>>;

/** One entry per tfjs layer class the registry's architectures use, by class name. */
export const LAYER_OPS: LayerOps = {
  InputLayer: inputLayer,
  Dropout: dropout,
  Conv2D: conv2d,
  SeparableConv2D: separableConv2d,
  BatchNormalization: batchNormalization,
  Activation: activationLayer,
  ReLU: activationLayer,
  AveragePooling2D: averagePooling2d,
  MaxPooling2D: maxPooling2d,
  GlobalAveragePooling2D: globalAveragePooling2d,
  Flatten: flatten,
  Dense: dense,
  Add: add,
};
