/** The original's optimizer names; a module of its own so the CLI can list them without loading TensorFlow. */
export const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adagrad', 'adadelta', 'adam', 'adamax'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
