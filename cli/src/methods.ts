/**
 * The training methods of the demo and the benchmark: a loss (and, where the method needs them,
 * tfjs class weights or callbacks), plus post-hoc evaluations of the trained model (prediction
 * re-balancing, post-hoc logit adjustment) that cost no retraining.
 */

import * as tf from '@tensorflow/tfjs';

import type { SettingValue } from './bench/runs';
import {
  rebalancePredictions,
  balancedSoftmaxLoss,
  crossEntropyLoss,
  effectiveNumberWeights,
  deferredReweighting,
  focalLoss,
  galaLoss,
  ldamLoss,
  type LDAMLoss,
  logitAdjustedLoss,
  adjustLogitsPostHoc,
} from 'tfjs-gala';

/** What a method may need to build its loss, weights and callbacks. */
export interface MethodContext {
  readonly numClasses: number;
  /** Training examples per class (priors for logit adjustment, weights for re-weighting...). */
  readonly classCounts: readonly number[];
  /** Training epochs of the run (schedules such as deferred re-weighting switch at a fraction of them). */
  readonly epochs: number;
}

/** A loss function as `model.compile` takes it, plus an optional clean-up. */
export type MethodLoss = ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor) & { dispose?: () => void };

/** An evaluation of an already-trained model with a post-hoc transform of its outputs. */
export interface PostHocEvaluation {
  /** Key in JSON output, e.g. 'gala+pr': the method's name, '+', a short tag. */
  readonly name: string;
  /** Table label, e.g. 'GALA + re-balancing'. */
  readonly label: string;
  /**
   * Scores whose argmax is the prediction, from the model's outputs on the WHOLE test split
   * `[N, numClasses]` (logits when the method's `fromLogits` is true, else probabilities).
   * Called inside `tf.tidy`.
   */
  transform(outputs: tf.Tensor2D, fromLogits: boolean, context: MethodContext): tf.Tensor2D;
}


/** A way to train the demo's model. */
export interface TrainingMethod {
  /** Key in JSON output and in `--methods` lists, e.g. 'ce'. */
  readonly name: string;
  /** Table label. */
  readonly label: string;
  /** Whether the model ends in a linear layer (logits, true) or in softmax (probabilities, false). */
  readonly fromLogits: boolean;
  /**
   * The method's hyper-parameters beyond the shared schedule (e.g. LDAM's scale); the benchmark
   * keys finished runs by them, so changing one reruns the method.
   */
  readonly settings?: Readonly<Record<string, SettingValue>>;
  /** A fresh loss for one training run; it must return per-sample losses `[batch]`. */
  createLoss(context: MethodContext): MethodLoss;
  /** Per-class weights handed to tfjs's `fitDataset({classWeight})`, for the whole run. */
  classWeights?(context: MethodContext): number[];
  /** Callbacks of one run, given the loss `createLoss` returned (e.g. deferred re-weighting). */
  createCallbacks?(loss: MethodLoss, context: MethodContext): tf.Callback[];
  /** Extra rows evaluated on the same trained model. */
  readonly postHoc?: readonly PostHocEvaluation[];
}

/** tau of the post-hoc rows: 1, the paper's value on CIFAR-LT (and logit adjustment's default). */
export const POST_HOC_TAU = 1;

/**
 * Softmax cross-entropy on logits, per sample: the package's `CrossEntropyLoss`, which (unlike
 * a plain function loss, which tfjs saves as `{}`) is saved and restored with the model. Runs
 * stored when this row used `LogitAdjustedLoss` at tau 0, the same loss, keep their keys.
 */
export const CROSS_ENTROPY: TrainingMethod = {
  name: 'ce',
  label: 'cross-entropy',
  fromLogits: true,
  createLoss: () => crossEntropyLoss(),
};

/** Options of {@link galaMethod}. */
export interface GalaMethodOptions {
  /** `'paper'` (the paper's formula, method `gala`) or `'reference'` (the authors' code, method `galaref`). */
  readonly variant: 'paper' | 'reference';
  /** Default 1 (the paper's default config; its tuned CIFAR-100-LT config has 1.2). */
  readonly lambda1?: number;
  /** Default 1 (0.9 in the tuned CIFAR-100-LT config); no effect with `'reference'`. */
  readonly lambda2?: number;
}

/**
 * GALA at the given lambdas (epsilon 1e-3): method `gala` for the paper's formula, `galaref` for
 * what the authors' code computes (every logit, the target's included, shifted; see
 * `GalaVariant`). At lambda1 = lambda2 = 1 its settings are those of {@link GALA} /
 * {@link GALA_REFERENCE}, so stored runs keep their keys.
 */
export function galaMethod(options: GalaMethodOptions): TrainingMethod {
  const { variant, lambda1 = 1, lambda2 = 1 } = options;
  const paper = variant === 'paper';
  return {
    name: paper ? 'gala' : 'galaref',
    label: paper ? 'GALA' : "GALA (authors' code)",
    fromLogits: true,
    settings: { variant, lambda1, lambda2, epsilon: 1e-3 },
    createLoss: ({ numClasses }) => galaLoss({ numClasses, variant, lambda1, lambda2 }),
  };
}

/** GALA with the paper's formula and default arguments (lambda1 = lambda2 = 1, epsilon 1e-3). */
export const GALA: TrainingMethod = galaMethod({ variant: 'paper' });

/**
 * GALA as the authors' code computes it (every logit, the target's included, shifted; see
 * `GalaVariant`), to compare with their published numbers.
 */
export const GALA_REFERENCE: TrainingMethod = galaMethod({ variant: 'reference' });

/** Focal loss (Lin et al. 2017), softmax form, gamma 2, no alpha. */
export const FOCAL: TrainingMethod = {
  name: 'focal',
  label: 'focal (gamma 2)',
  fromLogits: true,
  settings: { gamma: 2 },
  createLoss: () => focalLoss({ gamma: 2 }),
};

/** Logit-adjusted loss (Menon et al. 2021) at temperature `tau` (>= 0) on the training prior. */
export function logitAdjustedMethod(tau: number): TrainingMethod {
  return {
    name: 'la',
    label: 'logit-adjusted loss',
    fromLogits: true,
    settings: { tau },
    createLoss: ({ classCounts }) => logitAdjustedLoss({ classCounts, tau }),
  };
}

/** Logit-adjusted loss (Menon et al. 2021), tau 1 on the training prior. */
export const LOGIT_ADJUSTED: TrainingMethod = logitAdjustedMethod(1);

/** Balanced softmax (Ren et al. 2020); the same loss as logit adjustment at tau 1. */
export const BALANCED_SOFTMAX: TrainingMethod = {
  name: 'bs',
  label: 'balanced softmax',
  fromLogits: true,
  createLoss: ({ classCounts }) => balancedSoftmaxLoss({ classCounts }),
};

/** beta of the effective-number weights (Cui et al. 2019) of LDAM-DRW and class-weighted CE. */
export const EFFECTIVE_NUMBER_BETA = 0.9999;

/** Class-weighted cross-entropy through tfjs's own `classWeight`, effective-number weights for the whole run. */
export const CLASS_WEIGHTED: TrainingMethod = {
  name: 'cw',
  label: 'class-weighted CE',
  fromLogits: true,
  settings: { weights: 'effective-number', beta: EFFECTIVE_NUMBER_BETA },
  createLoss: CROSS_ENTROPY.createLoss,
  classWeights: ({ classCounts }) => effectiveNumberWeights(classCounts, EFFECTIVE_NUMBER_BETA),
};

/** Options of {@link ldamDrw}. */
export interface LdamDrwOptions {
  /** Factor on the margined logits (> 0). See {@link LDAM_SCALE}. */
  readonly scale: number;
  /** Margin of the rarest class; default 0.5 (Cao et al.). */
  readonly maxMargin?: number;
  /** Fraction of the epochs trained unweighted before the switch; default 0.8 (160 of 200 in Cao et al.; 24 of 30 here). */
  readonly switchFraction?: number;
}

/**
 * LDAM's default scale in the benchmark: 30, the authors' value and the one of the PyTorch
 * reference run (docs/guide/07-reference-numbers.md). LDAM assumes cosine logits in [-1, 1]; on this MLP's plain dense logits s = 30 sharpens
 * the softmax a lot (the anchors' LDAM-DRW rows have the largest spread over seeds), but it is
 * the protocol the anchors measured, so the comparison stays like for like. `--ldam-scale 1`
 * gives the variant the LDAM docstring recommends for dense logits.
 */
export const LDAM_SCALE = 30;

/** The first epoch (0-based) of deferred re-weighting: floor(switchFraction * epochs), 24 of 30 at 0.8. */
export function drwSwitchEpoch(epochs: number, switchFraction = 0.8): number {
  return Math.floor(epochs * switchFraction + 1e-9);
}

/**
 * LDAM with deferred re-weighting (Cao et al. 2019): unweighted LDAM, then effective-number
 * weights (beta 0.9999) from epoch floor(0.8 * epochs), switched by the `DeferredReweighting`
 * callback inside one `fitDataset` call.
 */
export function ldamDrw(options: LdamDrwOptions): TrainingMethod {
  const { scale, maxMargin = 0.5, switchFraction = 0.8 } = options;
  return {
    name: 'ldamdrw',
    label: 'LDAM-DRW',
    fromLogits: true,
    settings: { maxMargin, scale, drwBeta: EFFECTIVE_NUMBER_BETA, drwSwitchFraction: switchFraction },
    createLoss: ({ classCounts }) => ldamLoss({ classCounts, maxMargin, scale }),
    createCallbacks: (loss, { classCounts, epochs }) => [
      deferredReweighting({
        loss: loss as LDAMLoss,
        switchEpoch: drwSwitchEpoch(epochs, switchFraction),
        classWeights: effectiveNumberWeights(classCounts, EFFECTIVE_NUMBER_BETA),
      }),
    ],
  };
}

/**
 * The paper's prediction re-balancing (tau 1) over the whole test split, as a post-hoc row of
 * `method`: transductive, it needs all the split's outputs at once.
 */
export function rebalancingOf(method: Pick<TrainingMethod, 'name' | 'label'>): PostHocEvaluation {
  return {
    name: `${method.name}+pr`,
    label: `${method.label} + re-balancing`,
    transform: (outputs, fromLogits) => rebalancePredictions(outputs, { tau: POST_HOC_TAU, fromLogits }),
  };
}

/** Post-hoc logit adjustment (Menon et al. 2021, tau 1 on the training prior) as a post-hoc row of `method`. */
export function postHocLogitAdjustmentOf(method: Pick<TrainingMethod, 'name' | 'label'>): PostHocEvaluation {
  return {
    name: `${method.name}+la`,
    label: `${method.label} + post-hoc LA`,
    transform: (outputs, fromLogits, { classCounts }) =>
      // log p differs from the logits by a per-row constant, which argmax ignores.
      adjustLogitsPostHoc(fromLogits ? outputs : tf.log(outputs), { classCounts, tau: POST_HOC_TAU }),
  };
}

/** `method` with the given post-hoc rows (replacing any it had). */
export function withPostHoc(method: TrainingMethod, ...postHoc: PostHocEvaluation[]): TrainingMethod {
  return { ...method, postHoc };
}

/** The rows of `tfjs-gala demo`, in table order: cross-entropy, GALA, GALA + re-balancing. */
export const DEMO_METHODS: readonly TrainingMethod[] = [CROSS_ENTROPY, withPostHoc(GALA, rebalancingOf(GALA))];

/** Names of the benchmark's methods, in table order. */
export const BENCHMARK_METHOD_NAMES = ['ce', 'focal', 'la', 'bs', 'ldamdrw', 'cw', 'gala', 'galaref'] as const;
export type BenchmarkMethodName = (typeof BENCHMARK_METHOD_NAMES)[number];

/** Options of {@link benchmarkMethods}. */
export interface BenchmarkMethodOptions {
  /** LDAM scale; default {@link LDAM_SCALE}. */
  readonly ldamScale?: number;
}

/**
 * The benchmark's methods, in table order, each with prediction re-balancing as a post-hoc row
 * ('+pr'); cross-entropy also with post-hoc logit adjustment ('+la').
 */
export function benchmarkMethods(options: BenchmarkMethodOptions = {}): TrainingMethod[] {
  const byName: Record<BenchmarkMethodName, TrainingMethod> = {
    ce: CROSS_ENTROPY,
    focal: FOCAL,
    la: LOGIT_ADJUSTED,
    bs: BALANCED_SOFTMAX,
    ldamdrw: ldamDrw({ scale: options.ldamScale ?? LDAM_SCALE }),
    cw: CLASS_WEIGHTED,
    gala: GALA,
    galaref: GALA_REFERENCE,
  };
  return BENCHMARK_METHOD_NAMES.map((name) => {
    const method = byName[name];
    const postHoc = name === 'ce' ? [rebalancingOf(method), postHocLogitAdjustmentOf(method)] : [rebalancingOf(method)];
    return withPostHoc(method, ...postHoc);
  });
}
