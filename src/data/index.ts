/**
 * Data for long-tailed experiments: long-tailed subsets of any labelled tensors, the
 * exponential profile's class counts, labels to one-hot, and a seeded generator for
 * reproducible subsets and batch orders.
 * @module Data
 */
export { longTailCounts, sampleClassIndices, type LongTailOptions } from './long_tail';
export { longTailSubset, type LongTailSubset, type LongTailSubsetOptions } from './long_tail_subset';
export { mulberry32, deriveSeed, shuffleInPlace, checkSeed } from './random';
export { toOneHot } from '../core/labels';
