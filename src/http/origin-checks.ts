/**
 * The origin rules the fetch algorithm applies to a request's URLs (HTML "same origin", Secure
 * Contexts "potentially trustworthy URL"), as undici's fetch applies them to http(s) URLs.
 */

/** Whether `a` and `b` have the same origin (scheme, host and port). */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}

/** Whether any URL of a redirect chain has another origin than the first. */
export function leftOrigin(urlList: readonly URL[]): boolean {
  const first = urlList[0] as URL;
  for (const url of urlList) if (!sameOrigin(first, url)) return true;
  return false;
}

const LOOPBACK_V4 =
  /^127\.(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){2}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;
const LOOPBACK_V6 = /^(?:(?:0{1,4}:){7}|(?:0{1,4}:){1,6}:|::)0{0,3}1$/;

/**
 * Whether an http(s) URL is potentially trustworthy: https, a loopback address (127.0.0.0/8,
 * ::1) or a `localhost` name. (undici's fetch then sends `sec-fetch-mode`.)
 */
export function isPotentiallyTrustworthy(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  let host = url.hostname;
  if (host.includes(':')) {
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    return LOOPBACK_V6.test(host);
  }
  if (LOOPBACK_V4.test(host)) return true;
  return (
    host === 'localhost' ||
    host === 'localhost.' ||
    host.endsWith('.localhost') ||
    host.endsWith('.localhost.')
  );
}
