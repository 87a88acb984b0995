/**
 * Prediction re-balancing (Zhang et al., ICASSP 2024): the `PredictionRebalance` layer for
 * serving, and functions for whole-set evaluation.
 * @module Layers
 */
export {
  PredictionRebalance,
  predictionRebalance,
  type PredictionRebalanceArgs,
  type RebalanceMode,
  type TensorDatasetLike,
} from './prediction_rebalance';
export { rebalancePredictions, rebalancedArgMax, type RebalanceOptions } from './rebalance_math';
