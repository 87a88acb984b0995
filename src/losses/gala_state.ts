/**
 * The state of a {@link GalaLoss} as plain numbers: its layout ({@link GalaState}), how
 * `getState` builds it and how `setState` reads it, converting states written by tfjs-gala 0.1.0.
 */
import { readStateArray } from './state_arrays';
import { describeValue } from '../core/labels';
import { checkInteger } from '../core/validate';
import type { GalaLoss, GalaVariant } from './gala_loss';

/**
 * Version of the {@link GalaState} layout that {@link GalaLoss.getState} writes. A state without
 * `format` is read as written by tfjs-gala 0.1.0 (see {@link GalaLoss.setState}).
 */
export const GALA_STATE_FORMAT = 2;

/**
 * Accumulated gradient statistics of a {@link GalaLoss}, as plain numbers (JSON-safe).
 * Units: sums of per-sample logit-gradient magnitudes, each divided by its batch size.
 */
export interface GalaState {
  /**
   * Layout version, {@link GALA_STATE_FORMAT} in states written by this version. Absent in states
   * written by 0.1.0, which `setState` converts (see there).
   */
  format?: number;
  /** theta_j, accumulated positive gradient of each class, length numClasses. */
  positive: number[];
  /** phi_k, accumulated negative gradient emitted by the samples of each class, length numClasses. */
  negative: number[];
  /** Number of training steps (batches) whose statistics were accumulated. */
  steps: number;
  /**
   * Training rows whose labels were invalid (they added nothing to the sums). Written by this
   * version; 0 when absent.
   */
  invalidRows?: number;
  /**
   * `'reference'` variant only: the single running sum of positive gradients that is added
   * into `positive` every step. Required there, to resume exactly.
   */
  positiveRunning?: number[];
  /**
   * `'reference'` variant only: the single running sum of negative gradients that is added
   * into `negative` every step. Required there in format 2.
   */
  negativeRunning?: number[];
}

/** The state as the loss's variables hold it (format {@link GALA_STATE_FORMAT}; running sums zero for `'paper'`). */
export interface GalaStateValues {
  positive: number[];
  negative: number[];
  positiveRunning: number[];
  negativeRunning: number[];
  steps: number;
  invalidRows: number;
}

/** The {@link GalaState} that {@link GalaLoss.getState} returns; `running` is read for `'reference'` only. */
export function galaStateOf(variant: GalaVariant, positive: number[], negative: number[], steps: number, invalidRows: number, running: () => [number[], number[]]): GalaState {
  const state: GalaState = { format: GALA_STATE_FORMAT, positive, negative, steps: Math.round(steps), invalidRows };
  if (variant === 'reference') [state.positiveRunning, state.negativeRunning] = running();
  return state;
}

/**
 * Checks a state given to {@link GalaLoss.setState} and converts it to the variables' layout,
 * a state without `format` being read as written by 0.1.0 (see there).
 * @throws Error as {@link GalaLoss.setState} documents, naming the field.
 */
export function readGalaState(state: GalaState, numClasses: number, variant: GalaVariant): GalaStateValues {
  const where = 'GalaLoss.setState';
  if (state == null || typeof state !== 'object' || Array.isArray(state) || ArrayBuffer.isView(state)) {
    throw new Error(`${where}: state must be an object {format, positive, negative, steps, ...} as getState() returns; received ${describeValue(state)}.`);
  }
  const c = numClasses;
  const format = state.format;
  if (format !== undefined && format !== GALA_STATE_FORMAT) {
    throw new Error(
      `${where}: state.format must be ${GALA_STATE_FORMAT} (this version) or absent (a state written by 0.1.0); received ${describeValue(format)}.`,
    );
  }
  const positive = readStateArray(`${where}: state.positive`, state.positive, c);
  let negative = readStateArray(`${where}: state.negative`, state.negative, c);
  const steps = checkInteger(`${where}: state.steps`, state.steps, 0);
  const invalidRows = state.invalidRows === undefined ? 0 : checkInteger(`${where}: state.invalidRows`, state.invalidRows, 0);
  const runningName = (key: string) => `${where}: state.${key} (required for variant 'reference')`;
  let positiveRunning = new Array<number>(c).fill(0);
  let negativeRunning = new Array<number>(c).fill(0);
  if (variant === 'paper') {
    for (const key of ['positiveRunning', 'negativeRunning'] as const) {
      if (state[key] !== undefined) {
        throw new Error(
          `${where}: state.${key} must be absent for variant 'paper' (only 'reference' keeps running sums: is this a 'reference' state?); ` +
            `received ${describeValue(state[key])}.`,
        );
      }
    }
  } else if (format === undefined) {
    if (state.negativeRunning !== undefined) {
      throw new Error(
        `${where}: state.negativeRunning must be absent in a state without format (read as written by 0.1.0, which had none); ` +
          `received ${describeValue(state.negativeRunning)}. Add format: ${GALA_STATE_FORMAT} to a state of this version.`,
      );
    }
    positiveRunning = readStateArray(runningName('positiveRunning'), state.positiveRunning, c);
    // 0.1.0 summed phi once: its `negative` is the running sum, and the double sum equals theta's.
    negativeRunning = negative;
    negative = positive.slice();
  } else {
    positiveRunning = readStateArray(runningName('positiveRunning'), state.positiveRunning, c);
    negativeRunning = readStateArray(runningName('negativeRunning'), state.negativeRunning, c);
  }
  return { positive, negative, positiveRunning, negativeRunning, steps, invalidRows };
}
