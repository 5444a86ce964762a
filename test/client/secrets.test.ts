// No secret leaves in an error: whatever a call fails with — a BulwarkError, fetch's own TypeErrors
// about the URL, a URL that does not parse — and every diagnostics message published on the way,
// carries no URL user-info and no query string, however deep one looks (util.inspect of the whole
// cause chain, JSON). The caller's own abort reason is the one value passed on untouched.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { createClient } from '../../src/client/client.ts';
import { redactError, redactUrl } from '../../src/errors/redact.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

const USER = 'alice-user';
const PASSWORD = 'pa55word-x';
const TOKEN = 's3cret-token';
const SECRETS = [PASSWORD, TOKEN, USER];

function assertClean(value: unknown, label: string): void {
  const views = [inspect(value, { depth: 20, showHidden: false }), safeJson(value)];
  if (value instanceof Error) views.push(String(value.stack));
  for (const view of views) {
    for (const secret of SECRETS) assert.ok(!view.includes(secret), `${label}: '${secret}' in ${view}`);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => assert.fail(`expected a rejection, got ${inspect(v)}`),
    (e: unknown) => e,
  );
}

const CHANNELS = [
  'bulwark:attempt:end',
  'bulwark:retry:attempt',
  'bulwark:body:error',
  'bulwark:breaker:state',
];

describe('no secret of the URL in any error or diagnostics message', () => {
  it('redactUrl hides user-info and query of any URL text, parsable or not', () => {
    assert.equal(redactUrl('http://u:p@h/x?t=1#f'), 'http://[redacted]@h/x?[redacted]');
    assert.equal(redactUrl('http://u:p@exa mple.com/?t=1'), 'http://[redacted]@exa mple.com/?[redacted]');
    assert.equal(redactUrl('http://h:80/a@b'), 'http://h:80/a@b', 'an @ in the path is not user-info');
    assert.equal(redactUrl('u:p@h'), '[redacted]@h');
    assert.equal(redactUrl('/relative?q=1'), '/relative?[redacted]');
  });

  it('redactError copies a built-in error that shows a secret, and leaves any other alone', () => {
    const plain = new TypeError('no secret here');
    assert.equal(redactError(plain), plain);
    const leaky = new TypeError(`bad http://${USER}:${PASSWORD}@h/?token=${TOKEN}`, {
      cause: Object.assign(new TypeError('Invalid URL'), {
        code: 'ERR_INVALID_URL',
        input: `http://x/?${TOKEN}`,
      }),
    });
    const copy = redactError(leaky) as TypeError & { cause: { code: string; input: string } };
    assert.ok(copy instanceof TypeError);
    assert.equal(copy.cause.code, 'ERR_INVALID_URL');
    assertClean(copy, 'copy');
    class Mine extends Error {}
    const mine = new Mine(`http://x/?${TOKEN}`);
    assert.equal(redactError(mine), mine, "another class's error keeps its identity");
  });

  it('every failure kind, through both front-ends, with every channel listened to', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const closed = await startHttpServer();
    const refused = closed.port;
    await closed.close();
    const messages: unknown[] = [];
    const listener = (message: unknown): void => void messages.push(message);
    for (const name of CHANNELS) subscribe(name, listener);
    t.after(() => {
      for (const name of CHANNELS) unsubscribe(name, listener);
    });
    const client = createClient({ retry: { backoff: { base: 1 } }, breaker: { minimumCalls: 2 } });
    t.after(() => client.close());
    const secretive = (authority: string, path = '/p'): string =>
      `http://${USER}:${PASSWORD}@${authority}${path}?token=${TOKEN}#${TOKEN}`;
    const cases: Array<[string, () => Promise<unknown>]> = [
      [
        'fetch: a URL that does not parse',
        () => client.fetch(`http://${USER}:${PASSWORD}@exa mple.com/?token=${TOKEN}`),
      ],
      [
        'request: a URL that does not parse',
        () => client.request(`http://${USER}:${PASSWORD}@exa mple.com/?t=${TOKEN}`),
      ],
      [
        'fetch: credentials in the URL (a TypeError of fetch)',
        () => client.fetch(secretive(`127.0.0.1:${server.port}`)),
      ],
      [
        'fetch: a scheme other than http(s)',
        () => client.fetch(`ftp://${USER}:${PASSWORD}@127.0.0.1/?t=${TOKEN}`),
      ],
      [
        'request: a scheme other than http(s)',
        () => client.request(`ftp://${USER}:${PASSWORD}@127.0.0.1/?t=${TOKEN}`),
      ],
      ['request: refused, retried', () => client.request(secretive(`127.0.0.1:${refused}`))],
      ['fetch: refused (query only)', () => client.fetch(`http://127.0.0.1:${refused}/p?token=${TOKEN}`)],
      ['request: no such host', () => client.request(secretive('no-such-host.invalid'))],
      ['request: open breaker', () => client.request(secretive(`127.0.0.1:${refused}`))],
    ];
    for (const [label, call] of cases) {
      const err = await rejection(call());
      assertClean(err, label);
    }
    assert.ok(messages.length > 0, 'the channels published');
    assertClean(messages, 'diagnostics messages');
  });

  it("the caller's abort reason is passed on as it is, secret or not", async (t) => {
    const client = createClient();
    t.after(() => client.close());
    const reason = new TypeError(`gave up on http://x/?token=${TOKEN}`);
    const err = await rejection(client.fetch('data:,hello', { signal: AbortSignal.abort(reason) }));
    assert.equal(err, reason);
  });
});
