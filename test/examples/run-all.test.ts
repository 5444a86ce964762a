// examples/run-all.ts decides what runs and what a skip means: an example whose server does not
// answer is skipped with a message, and fails the run under --strict (what CI uses); an unknown
// example name is a usage error. Only the decision is tested here: no example runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { refusedPort } from '../probe/run-cli.ts';

const runAll = fileURLToPath(new URL('../../examples/run-all.ts', import.meta.url));

async function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [runAll, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('examples/run-all.ts', () => {
  it('skips an example whose server does not answer, and says how to fix it', async () => {
    const port = await refusedPort();
    const { code, stdout } = await run(['redis.ts'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    assert.equal(code, 0, stdout);
    assert.match(
      stdout,
      new RegExp(
        `^skip  redis\\.ts  \\(REDIS_URL: 127\\.0\\.0\\.1:${port}: ECONNREFUSED; start the server or set REDIS_URL\\)$`,
        'm',
      ),
    );
    assert.match(stdout, /^examples: 0 passed, 0 failed, 1 skipped$/m);
  });

  it('fails the run on a skip under --strict', async () => {
    const port = await refusedPort();
    const { code, stdout } = await run(['--strict', 'redis.ts'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    assert.equal(code, 1, stdout);
    assert.match(stdout, /^FAIL {2}redis\.ts/m);
    assert.match(stdout, /^examples: 0 passed, 1 failed, 1 skipped \(--strict: a skipped example fails\)$/m);
  });

  it('refuses an unknown example name', async () => {
    const { code } = await run(['no-such-example.ts'], {});
    assert.equal(code, 2);
  });
});
