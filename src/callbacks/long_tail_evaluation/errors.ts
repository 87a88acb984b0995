import * as tf from '@tensorflow/tfjs-core';

import { formatShape } from '../../core/shapes';

/**
 * Every error and warning of the callback starts with its name:
 * `LongTailEvaluation: <argument> must be <allowed>; received <value>.`
 */
export const OWNER = 'LongTailEvaluation';

/** A received value as the errors name it: a tensor by its shape, an object by its keys. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (value instanceof tf.Tensor) return `a tensor of shape ${formatShape(value.shape)}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') return `an object with keys [${Object.keys(value as object).slice(0, 8).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
