/**
 * Merges a constructor's `args` over its `defaults`, ignoring keys set to `undefined` (so a
 * caller may pass `{gamma: undefined}` for "use the default").
 * @param owner class name used in the error message.
 * @param example a valid call, shown in the error message.
 * @throws Error when `args` is neither an object nor undefined.
 */
export function resolveArgs<A extends object, D extends object>(owner: string, args: A | undefined, defaults: D, example: string): D & A {
  if (args === undefined) args = {} as A;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new Error(`${owner}: args must be an object like ${example}; received ${String(args)}.`);
  }
  const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
  return { ...defaults, ...given } as D & A;
}
