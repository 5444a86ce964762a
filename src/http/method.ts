/**
 * A request method as fetch sends it: the standard names upper-cased whatever their case (Fetch
 * standard, "normalize a method"), any other token as given.
 */

const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/** `method` normalised; `undefined` is `GET`. */
export function normaliseMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  if (NORMALISED_METHODS.has(method)) return method;
  const upper = method.toUpperCase();
  return NORMALISED_METHODS.has(upper) ? upper : method;
}
