/**
 * `InvalidOptionError`: thrown synchronously when a client, pool or policy is created with an
 * option it cannot use. It names the option's path, what was expected and what was received.
 */

/**
 * A bad option value or an unknown option key. A `TypeError`, like Node's own `ERR_INVALID_ARG_*`.
 *
 * @example
 * ```ts
 * createClient({ retry: { backoff: { base: 500, cap: 100 } } });
 * // InvalidOptionError: retry.backoff.cap must be ≥ base (500); received 100
 * ```
 */
export class InvalidOptionError extends TypeError {
  /** Always `'BULWARK_INVALID_OPTION'`. */
  readonly code = 'BULWARK_INVALID_OPTION';
  /** The option's path, dotted: `retry.backoff.cap`. */
  readonly path: string;
  /** What the option accepts, in words. */
  readonly expected: string;
  /** A short description of the value that was given. */
  readonly received: string;

  constructor(path: string, expected: string, received: unknown) {
    const shown = describeValue(received);
    super(`${path} must be ${expected}; received ${shown}`);
    this.path = path;
    this.expected = expected;
    this.received = shown;
  }

  override get name(): string {
    return 'InvalidOptionError';
  }
}

/** A short, safe description of any value for an error message (never its secrets in full). */
export function describeValue(value: unknown): string {
  try {
    if (value === null) return 'null';
    switch (typeof value) {
      case 'undefined':
        return 'undefined';
      case 'number':
        return Number.isNaN(value) ? 'NaN' : String(value);
      case 'string':
        return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
      case 'boolean':
      case 'bigint':
        return `${String(value)}${typeof value === 'bigint' ? 'n' : ''}`;
      case 'function':
        return 'a function';
      case 'symbol':
        return String(value);
      default:
        return Array.isArray(value) ? `an array of length ${value.length}` : 'an object';
    }
  } catch {
    return 'an unreadable value';
  }
}
