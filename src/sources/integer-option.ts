/** Checks a numeric source option at construction, so a bad value fails at boot with the option's name. */
export function positiveInteger(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`Expected \`${name}\` to be an integer from ${min} and up, got \`${value}\` (${typeof value})`);
  }
  return value;
}
