/**
 * Unknown option keys are an error, with a did-you-mean: `galaLoss({numClasses: 3, lamda1: 2})`
 * (the authors' spelling) must not silently train with the default lambda1.
 */

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The allowed key closest to `key` (case-insensitive edit distance <= 2, or one contains the other), or null. */
export function closestKey(key: string, allowed: readonly string[]): string | null {
  const lower = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const c = candidate.toLowerCase();
    const distance = editDistance(lower, c);
    const near = distance <= 2 || (lower.length >= 4 && (c.includes(lower) || lower.includes(c)));
    if (near && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Throws when `args` has a key outside `allowed`, naming the owner, the key, the closest allowed
 * key (did you mean) and every allowed key. Keys whose value is undefined are ignored too, so
 * spreading an options object with absent fields stays legal.
 *
 * @param owner class or function name for the message, e.g. `'GalaLoss'`.
 * @throws Error `GalaLoss: unknown argument 'lamda1' (did you mean 'lambda1'?); allowed: numClasses, lambda1, ...`.
 */
export function checkKnownKeys(owner: string, args: object, allowed: readonly string[]): void {
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || allowed.includes(key)) continue;
    const suggestion = closestKey(key, allowed);
    throw new Error(
      `${owner}: unknown argument '${key}'${suggestion === null ? '' : ` (did you mean '${suggestion}'?)`}; allowed: ${allowed.join(', ')}.`,
    );
  }
}
