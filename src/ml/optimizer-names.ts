/**
 * The original's optimizer names, and adamw (Adam with decoupled weight decay); a module of its own
 * so the CLI can list them without loading TensorFlow.
 */
export const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adagrad', 'adadelta', 'adam', 'adamax', 'adamw'] as const;

/** AdamW's decay when none is given: torch.optim.AdamW's default. */
export const ADAMW_WEIGHT_DECAY = 0.01;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/**
 * The optimizers with a momentum term a schedule can set step by step (onecycle's cycling):
 * momentum's coefficient, or the Adams' β₁. The others have none, and keep their update.
 */
export const MOMENTUM_OPTIMIZERS: ReadonlySet<OptimizerName> = new Set(['momentum', 'adam', 'adamw', 'adamax']);
