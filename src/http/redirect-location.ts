/**
 * A redirect's target (Fetch standard, "location URL"), parsed as undici's fetch parses it: the
 * `Location` value must be a valid header value; one with bytes outside printable ASCII is read
 * as UTF-8 (browsers do so for servers that send raw UTF-8); it is resolved against the URL that
 * answered; and it keeps the request's fragment when it has none of its own.
 */

/** Whether `value` has no leading or trailing tab or space and no NUL, CR or LF. */
function isValidHeaderValue(value: string): boolean {
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return (
    first !== 9 &&
    first !== 32 &&
    last !== 9 &&
    last !== 32 &&
    !value.includes('\n') &&
    !value.includes('\r') &&
    !value.includes('\0')
  );
}

/** Whether every character is printable ASCII (RFC 1738's "encoded" URL). */
function isPrintableAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7e || c < 0x20) return false;
  }
  return true;
}

/**
 * The URL a redirect response points to, or `null` without a `Location` header. Throws what
 * undici's fetch fails with: the URL parser's `TypeError` (`ERR_INVALID_URL`) for a value that is
 * not a URL, or a `TypeError` for a value that is not a valid header value (undici's fetch then
 * trips over setting the fragment on it).
 */
export function locationUrl(location: string | null, base: URL, requestFragment: string): URL | null {
  if (location === null) return null;
  if (!isValidHeaderValue(location)) {
    throw new TypeError(`Cannot create property 'hash' on string '${location}'`);
  }
  const text = isPrintableAscii(location) ? location : Buffer.from(location, 'latin1').toString('utf8');
  const url = new URL(text, base);
  if (!url.hash) url.hash = requestFragment;
  return url;
}
