/** Error-message helpers shared by the `tfjs-gala/node` modules. */

/** The npm command that installs the optional peers of `tfjs-gala/node`. */
export const INSTALL_HINT = 'npm install webgpu @tensorflow/tfjs-backend-webgpu';

/** The first line of an error's message, for quoting it inside another message. */
export function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}
