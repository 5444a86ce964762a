// A redirect client.fetch cannot follow fails with a BulwarkError whose code says why (the direct
// path's own failures, turned into codes by the attempt stage): HTTP_REDIRECT for too many, a
// refused scheme, an invalid Location or redirect: 'error'; the connect layer's code for a hop
// that cannot be reached. `cause` is what undici's fetch gives as the cause of `fetch failed`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

describe('a redirect that cannot be followed', () => {
  const cases: [string, (origin: string, closed: number) => string, RequestInit, string, string][] = [
    ['a loop past 20 redirects', (o) => `${o}/loop`, {}, 'HTTP_REDIRECT', 'redirect count exceeded'],
    [
      'a Location with another scheme',
      (o) => `${o}/to?l=mailto:x`,
      {},
      'HTTP_REDIRECT',
      'URL scheme must be a HTTP(S) scheme',
    ],
    ['an invalid Location', (o) => `${o}/to?l=http://[`, {}, 'HTTP_REDIRECT', 'Invalid URL'],
    [
      "redirect: 'error'",
      (o) => `${o}/to?l=/x`,
      { redirect: 'error' },
      'HTTP_REDIRECT',
      'unexpected redirect',
    ],
    [
      'a hop that cannot be reached',
      (o, closed) => `${o}/to?l=${encodeURIComponent(`http://127.0.0.1:${closed}/`)}`,
      {},
      'TCP_REFUSED',
      'connect ECONNREFUSED',
    ],
  ];
  for (const [name, url, init, code, cause] of cases) {
    it(`${name}: ${code}`, async (t) => {
      const server = cleanup(t, await startHttpServer());
      server.handle((req, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        res.writeHead(302, { location: u.pathname === '/loop' ? '/loop' : (u.searchParams.get('l') ?? '/') });
        res.end();
      });
      const gone = await startHttpServer();
      const closed = gone.port;
      await gone.close();
      const client = createClient({ retry: false });
      t.after(() => client.close());
      const err = await client.fetch(url(server.url, closed), init as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isBulwarkError(err), String(err));
      assert.equal(err.code, code);
      assert.match(String((err.cause as Error).message), new RegExp(`^${cause.replace(/[()[\]]/g, '\\$&')}`));
      assert.equal(client.stats()[server.origin]?.failuresByCode[code as 'HTTP_REDIRECT'], 1);
    });
  }
});
