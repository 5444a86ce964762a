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

/** The path of a URL without its query string or fragment (what errors record as `request.path`). */
export function pathOf(url: URL | string): string {
  if (typeof url === 'string') {
    const end = url.search(/[?#]/);
    return end === -1 ? url : url.slice(0, end);
  }
  return url.pathname;
}
