import { InvalidArgumentError } from 'commander';

/**
 * Parsers for commander options, shared by every command-line tool so that a bad value gets the same clear message
 * everywhere (`error: option '--rps <r>' argument 'x' is invalid. expected a number in [1, …]`).
 */

/**
 * An integer option in [min, max].
 * @throws InvalidArgumentError (commander prints it and exits 1) for an empty, fractional or out-of-range value.
 */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in [${min}, ${max}]`);
    return n;
  };
}

/**
 * A finite number option in [min, max], or (min, max] with `minExclusive`.
 * @throws InvalidArgumentError for an empty, non-finite or out-of-range value.
 */
export function numArg(min: number, max = Number.MAX_VALUE, opts: { minExclusive?: boolean } = {}): (value: string) => number {
  const lower = opts.minExclusive ? `(${min}` : `[${min}`;
  return (value: string): number => {
    const n = Number(value);
    const tooLow = opts.minExclusive ? n <= min : n < min;
    if (value.trim() === '' || !Number.isFinite(n) || tooLow || n > max) throw new InvalidArgumentError(`expected a number in ${lower}, ${max}]`);
    return n;
  };
}
