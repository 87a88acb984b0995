/**
 * Every error and warning of the monitor starts with its name:
 * `GradientMonitor: <argument> must be <allowed>; received <value>.`
 */
export const MONITOR = 'GradientMonitor';

/**
 * An argument as the monitor's errors name it (`GradientMonitor: batchSize`), for the shared
 * checks of `src/core/validate.ts`, whose messages start with the name they are given.
 */
export function argumentName(name: string): string {
  return `${MONITOR}: ${name}`;
}
