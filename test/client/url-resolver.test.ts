// The client's URL fast path on its own: whatever it takes from its caches, a URL resolves to what
// `new URL` makes of it (origin, path and query, href), a non-http(s) URL to `false`, and a URL
// that does not parse to fetch's TypeError; the parser runs once per origin and URL, not per call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { authorityEnd, isPlainPath, UrlResolver } from '../../src/client/url-resolver.ts';

function resolver() {
  const made: string[] = [];
  const urls = new UrlResolver((url) => {
    made.push(url.origin);
    return { origin: url.origin };
  });
  return { urls, made };
}

function expected(input: string): { origin: string; path: string; href: string } {
  const url = new URL(input);
  return { origin: url.origin, path: url.pathname + url.search, href: url.href };
}

describe('UrlResolver', () => {
  it('resolves any http(s) URL as new URL does, from its caches or not (property)', () => {
    const { urls } = resolver();
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (input) => {
        for (let round = 0; round < 2; round++) {
          assert.equal(urls.resolve(input), true);
          const want = expected(input);
          assert.equal(urls.state.origin, want.origin);
          assert.equal(urls.path, want.path);
          assert.equal(new URL(urls.href).href, want.href);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('every printable character, in a path and in a query, on an origin seen before (property)', () => {
    const { urls } = resolver();
    urls.resolve('http://h.test/');
    const printable = fc.string({
      unit: fc.integer({ min: 32, max: 126 }).map((c) => String.fromCharCode(c)),
    });
    fc.assert(
      fc.property(printable, fc.option(printable), (path, query) => {
        const input = `http://h.test/${path}${query === null ? '' : `?${query}`}`;
        if (!URL.canParse(input)) return;
        assert.equal(urls.resolve(input), true);
        const want = expected(input);
        assert.equal(urls.path, want.path, input);
        assert.equal(urls.state.origin, want.origin);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a canonical URL seen before, or a plain path on an origin seen before, skips the parser', () => {
    const { urls, made } = resolver();
    assert.equal(urls.resolve('http://api.test/a?x=1'), true);
    assert.equal(urls.resolve('http://api.test/a?x=1'), true);
    assert.equal(urls.resolve('http://api.test/b'), true);
    assert.deepEqual(made, ['http://api.test'], 'the origin state was made once');
    assert.equal(urls.path, '/b');
    // Not plain: dot segments, spaces, a fragment, a percent-encoded dot go through the parser.
    for (const [input, path] of [
      ['http://api.test/a/../c', '/c'],
      ['http://api.test/a b', '/a%20b'],
      ['http://api.test/x#frag', '/x'],
      ['http://api.test/%2e%2e/y', '/y'],
      ['HTTP://API.test:80/z', '/z'],
    ] as const) {
      assert.equal(urls.resolve(input), true);
      assert.equal(urls.path, path, input);
      assert.equal(urls.state.origin, 'http://api.test');
    }
  });

  it('takes URL objects; other schemes are false; a URL that does not parse is fetch’s TypeError, redacted', () => {
    const { urls } = resolver();
    assert.equal(urls.resolve(new URL('https://s.test:8443/p?q')), true);
    assert.equal(urls.state.origin, 'https://s.test:8443');
    assert.equal(urls.path, '/p?q');
    assert.equal(urls.resolve('data:,hello'), false);
    assert.equal(urls.resolve('ftp://f.test/'), false);
    assert.throws(
      () => urls.resolve('http://user:secret@exa mple.test/?token=t0k'),
      (err: unknown) =>
        err instanceof TypeError &&
        /^Failed to parse URL from/.test(err.message) &&
        !/secret|t0k/.test(`${err.message} ${JSON.stringify((err.cause as { input?: unknown }).input)}`),
    );
  });

  it('authorityEnd and isPlainPath', () => {
    assert.equal(authorityEnd('http://h/x'), 8);
    assert.equal(authorityEnd('https://h:1?q'), 11);
    assert.equal(authorityEnd('https://h'), 9);
    assert.equal(authorityEnd('http://u@h/'), -1, 'user-info: parsed');
    assert.equal(authorityEnd('ftp://h/'), -1);
    assert.equal(isPlainPath('/a/b?c=d'), true);
    assert.equal(isPlainPath('/a/./b'), false);
    assert.equal(isPlainPath('/a%2e'), false);
    assert.equal(isPlainPath('/ü'), false);
    assert.equal(isPlainPath('a'), false);
    assert.equal(isPlainPath('?q=1'), false, 'the parser makes it /?q=1');
    assert.equal(isPlainPath('/a?'), false, 'the parser drops a bare ?');
    assert.equal(isPlainPath('/a?b?'), true);
  });
});
