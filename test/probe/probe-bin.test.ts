// The real executable, spawned: `node src/bin/bulwark.ts probe ...` sets the process's exit status
// (0 healthy, 1 a layer failed, 2 usage error) and exits on its own, with nothing left running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { refusedPort } from './run-cli.ts';

const BIN = fileURLToPath(new URL('../../src/bin/bulwark.ts', import.meta.url));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the executable; fails the test if it has not exited on its own within 10 s. */
function bulwark(args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`bulwark ${args.join(' ')} did not exit by itself\n${stdout}${stderr}`));
    }, 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the bulwark executable', () => {
  it('exits 0 for a healthy server', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const run = await bulwark(['probe', server.url]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /\nhealthy/);
  });

  it('exits 1 when a layer failed', async () => {
    const port = await refusedPort();
    const run = await bulwark(['probe', `http://127.0.0.1:${port}/`]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /failed at tcp: TCP_REFUSED/);
    assert.equal(run.stderr, '');
  });

  it('exits 2 on a usage error, without a stack trace', async () => {
    const run = await bulwark(['probe', 'not a url']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^bulwark: "not a url" is not an absolute http\(s\) URL/);
    assert.doesNotMatch(run.stderr, /^\s+at /m);
  });
});
