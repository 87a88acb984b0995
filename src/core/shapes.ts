/** Formats a tensor shape for error messages: `[batch, 10]` style, unknown dimensions as `null`. */
export function formatShape(shape: readonly (number | null | undefined)[]): string {
  return `[${shape.map((d) => (d == null ? 'null' : String(d))).join(', ')}]`;
}
