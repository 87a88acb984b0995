import { checkKnownKeys, closestKey, editDistance } from '../../src/core/known_keys';

describe('checkKnownKeys', () => {
  const allowed = ['numClasses', 'lambda1', 'lambda2', 'epsilon', 'fromLogits', 'variant'];

  it('names the unknown key, the closest allowed one and every allowed key', () => {
    expect(() => checkKnownKeys('GalaLoss', { numClasses: 3, lamda1: 2 }, allowed)).toThrow(
      "GalaLoss: unknown argument 'lamda1' (did you mean 'lambda1'?); allowed: numClasses, lambda1, lambda2, epsilon, fromLogits, variant.",
    );
    expect(() => checkKnownKeys('GalaLoss', { numclasses: 3 }, allowed)).toThrow("(did you mean 'numClasses'?)");
    expect(() => checkKnownKeys('GalaLoss', { numClasses: 3, banana: 1 }, allowed)).toThrow(
      "GalaLoss: unknown argument 'banana'; allowed:",
    );
  });

  it('accepts the allowed keys', () => {
    expect(() => checkKnownKeys('GalaLoss', { numClasses: 3, lambda1: 1.2, variant: 'paper' }, allowed)).not.toThrow();
    // An absent field spread from another options object is not a typo.
    expect(() => checkKnownKeys('GalaLoss', { numClasses: 3, other: undefined }, allowed)).not.toThrow();
  });

  it('measures edit distance and picks the nearest key', () => {
    expect(editDistance('lamda1', 'lambda1')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closestKey('lambda', allowed)).toBe('lambda1');
    expect(closestKey('xyz', allowed)).toBeNull();
  });
});
