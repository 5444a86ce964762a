/**
 * Redaction for anything an error may print: URL user-info, query strings and credential headers
 * never reach a log line through a message or `toJSON()`.
 */

// User-info runs to the last '@' of the authority: a password with an unescaped '@' is still hidden.
const URL_WITH_SECRETS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*@)?([^\s?#]*)(\?[^\s#]*)?(#\S*)?/gi;
// An unquoted header value runs to the end of the line: cookies are ';'-separated and Digest
// credentials ','-separated, so stopping at either would leave the rest of the secret behind.
const SECRET_HEADER =
  /\b(authorization|proxy-authorization|cookie|set-cookie)(["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\r\n]+)/gi;
const PASSWORD_PAIR = /\b(password|passwd|pwd)(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s&;,]+)/gi;

/** Replaces secrets inside free text (error messages, stack lines) with `[redacted]`. */
export function redactText(text: string): string {
  return text
    .replace(
      URL_WITH_SECRETS,
      (_m, scheme: string, userinfo: string | undefined, rest: string, query?: string) => {
        return `${scheme}${userinfo ? '[redacted]@' : ''}${rest}${query ? '?[redacted]' : ''}`;
      },
    )
    .replace(SECRET_HEADER, '$1$2[redacted]')
    .replace(PASSWORD_PAIR, '$1$2[redacted]');
}

// Header names whose values are secrets: credentials, cookies, and the custom ones named like them.
const SECRET_HEADER_NAME =
  /^(authorization|proxy-authorization|cookie|set-cookie)$|(^|[-_])(auth|token|secret|password|passwd|session|signature|credentials?)([-_]|$)|api[-_]?key/i;

/**
 * A header's value as it may be shown: `[redacted]` for a secret header (`Authorization`,
 * `Cookie`, `X-Api-Key`, `X-Auth-Token`, ...), keeping an `Authorization` scheme (`Bearer
 * [redacted]`); other values with the URL secrets in them redacted.
 */
export function redactHeaderValue(name: string, value: string): string {
  if (!SECRET_HEADER_NAME.test(name)) return redactText(value);
  const scheme = /^(authorization|proxy-authorization)$/i.test(name)
    ? /^([A-Za-z][\w!#$%&'*+.^`|~-]*) +\S/.exec(value)
    : null;
  return scheme === null ? '[redacted]' : `${scheme[1]} [redacted]`;
}

/** The path of a URL without its query string or fragment (what errors record as `request.path`). */
export function pathOf(url: URL | string): string {
  if (typeof url === 'string') {
    const end = url.search(/[?#]/);
    return end === -1 ? url : url.slice(0, end);
  }
  return url.pathname;
}

/**
 * A URL as given (parsable or not) without its secrets: user-info becomes `[redacted]@`, and a
 * query or fragment `?[redacted]`. Unlike {@link redactText} it needs no well-formed URL, so the
 * input of a URL that failed to parse can still be shown.
 */
export function redactUrl(raw: string): string {
  let s = raw;
  const tail = s.search(/[?#]/);
  if (tail !== -1) s = `${s.slice(0, tail)}?[redacted]`;
  const scheme = s.indexOf('://');
  const start = scheme === -1 ? 0 : scheme + 3;
  const slash = s.indexOf('/', start);
  const at = s.lastIndexOf('@', slash === -1 ? s.length : slash);
  if (at >= start) s = `${s.slice(0, start)}[redacted]@${s.slice(at + 1)}`;
  return s;
}

/** Built-in error classes a redacted copy can be made of. */
const COPYABLE: ReadonlyArray<new (message: string, options?: ErrorOptions) => Error> = [
  TypeError,
  RangeError,
  SyntaxError,
  Error,
];

/**
 * `err` without URL secrets: itself when its message, its `input` (Node's URL errors carry the
 * URL there) and its causes carry none; otherwise a copy of the same built-in class with each of
 * them redacted. Errors of other classes (a driver's, the caller's own) are returned as they are:
 * identity matters for those. Used on every error Bulwark rejects with that is not its own. Never
 * throws (a hostile error is returned as it is).
 */
export function redactError(err: unknown, depth = 0): unknown {
  try {
    return redacted(err, depth);
  } catch {
    return err;
  }
}

function redacted(err: unknown, depth: number): unknown {
  if (!(err instanceof Error) || depth > 4) return err;
  const Class = COPYABLE.find((c) => Object.getPrototypeOf(err) === c.prototype);
  if (Class === undefined) return err;
  const message = redactText(err.message);
  const cause = 'cause' in err ? redactError(err.cause, depth + 1) : undefined;
  const input = (err as { input?: unknown }).input;
  const safeInput = typeof input === 'string' ? redactUrl(input) : input;
  if (message === err.message && cause === err.cause && safeInput === input) return err;
  const copy = new Class(message, 'cause' in err ? { cause } : undefined) as Error & Record<string, unknown>;
  for (const key of Object.keys(err)) {
    if (key !== 'cause')
      copy[key] = key === 'input' ? safeInput : (err as unknown as Record<string, unknown>)[key];
  }
  return copy;
}
