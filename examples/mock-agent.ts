// Testing code that uses Bulwark without a network: undici's MockAgent as the client's dispatcher.
// Every policy still runs over it, so a test can check what your code does on a flaky upstream —
// the retries, the breaker, the errors — and read it all in stats(). Run it: node --test, or node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient, isBulwarkError } from 'bulwark';
import { MockAgent } from 'undici';

/** The code under test: fetches a user, and says "unavailable" when the service is down. */
async function userName(client: ReturnType<typeof createClient>, id: number): Promise<string> {
  try {
    const res = await client.fetch(`https://users.internal/v1/users/${id}`);
    if (!res.ok) return `error ${res.status}`;
    return ((await res.json()) as { name: string }).name;
  } catch (err) {
    if (isBulwarkError(err)) return `unavailable (${err.code})`;
    throw err;
  }
}

test('two 503s are retried away', async (t) => {
  const mock = new MockAgent();
  mock.disableNetConnect(); // a request nobody mocked fails instead of reaching the network
  t.after(() => mock.close());
  const users = mock.get('https://users.internal');
  users.intercept({ path: '/v1/users/1' }).reply(503, 'busy').times(2);
  users.intercept({ path: '/v1/users/1' }).reply(200, { name: 'Ada' });

  const client = createClient({ dispatcher: mock, retry: { backoff: { base: 1, cap: 5 } } });
  t.after(() => client.close());

  assert.equal(await userName(client, 1), 'Ada');
  const stats = client.stats()['https://users.internal'];
  assert.equal(stats?.retries, 2);
  mock.assertNoPendingInterceptors();
});

test('an outage opens the breaker: later calls fail fast without touching the upstream', async (t) => {
  const mock = new MockAgent();
  mock.disableNetConnect();
  t.after(() => mock.close());
  const refused = Object.assign(new Error('connect ECONNREFUSED'), {
    code: 'ECONNREFUSED',
    syscall: 'connect',
  });
  mock
    .get('https://users.internal')
    .intercept({ path: /\/v1\/users\/\d+/ })
    .replyWithError(refused)
    .times(3);

  const client = createClient({
    dispatcher: mock,
    retry: { limit: 2, backoff: { base: 1, cap: 5 } },
    breaker: { minimumCalls: 3 },
  });
  t.after(() => client.close());

  assert.equal(await userName(client, 2), 'unavailable (TCP_REFUSED)'); // 3 attempts, all refused
  assert.equal(await userName(client, 3), 'unavailable (CIRCUIT_OPEN)'); // nothing dispatched
  assert.equal(client.stats()['https://users.internal']?.breaker, 'open');
  mock.assertNoPendingInterceptors();
});
