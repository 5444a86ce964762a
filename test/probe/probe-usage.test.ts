// The command line's mistakes: each is exit status 2 with a one-line message naming what is wrong,
// followed by the usage, on stderr — never a stack trace, and nothing on stdout. Plus --help.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from './run-cli.ts';

/** Runs `argv` and checks the shape of a usage error; returns its first line. */
async function usageError(argv: string[]): Promise<string> {
  const run = await runCli(argv);
  assert.equal(run.code, 2, `${argv.join(' ')} → ${run.code}\n${run.stdout}${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^bulwark: /);
  assert.match(run.stderr, /\nUsage: bulwark/);
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
  return run.stderr.split('\n')[0]!;
}

describe('bulwark: usage errors exit 2 with a message and the usage', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /missing a command/],
    ['an unknown command', ['prob', 'http://x'], /unknown command "prob"/],
    ['a missing URL', ['probe'], /missing the <url>/],
    ['two URLs', ['probe', 'http://a', 'http://b'], /unexpected argument "http:\/\/b"/],
    ['an unknown flag', ['probe', 'http://x', '--bogus'], /Unknown option '--bogus'$/],
    ['a flag without its value', ['probe', 'http://x', '--dns-timeout'], /--dns-timeout/],
    ['a value given to a boolean', ['probe', 'http://x', '--json=yes'], /--json/],
    ['an invalid URL', ['probe', 'http//nope'], /"http\/\/nope" is not an absolute http\(s\) URL/],
    ['a host without a scheme', ['probe', 'example.com'], /not an absolute http\(s\) URL/],
    ['a non-http scheme', ['probe', 'ftp://example.com/'], /cannot probe ftp: URLs/],
    [
      'a timeout that is not a number',
      ['probe', 'http://x', '--connect-timeout', 'soon'],
      /--connect-timeout must be a whole number of milliseconds > 0 and ≤ 2147483647; received "soon"/,
    ],
    ['a zero timeout', ['probe', 'http://x', '--tls-timeout', '0'], /--tls-timeout must be/],
    ['a negative timeout', ['probe', 'http://x', '--http-timeout=-5'], /--http-timeout must be/],
    ['a fractional timeout', ['probe', 'http://x', '--dns-timeout', '1.5'], /--dns-timeout must be/],
    ['a huge timeout', ['probe', 'http://x', '--dns-timeout', '99999999999'], /--dns-timeout must be/],
    [
      'a resolver that is not an IP',
      ['probe', 'http://x', '--resolver', 'dns.google'],
      /--resolver must be an IP address/,
    ],
    [
      'a resolver with a bad port',
      ['probe', 'http://x', '--resolver', '1.1.1.1:99999'],
      /--resolver must be/,
    ],
    [
      '--no-system without a resolver',
      ['probe', 'http://x', '--no-system'],
      /--no-system needs at least one --resolver/,
    ],
    ['a bad method', ['probe', 'http://x', '-X', 'GE T'], /--method must be an HTTP method/],
    ['CONNECT', ['probe', 'http://x', '--method', 'connect'], /--method must be/],
    [
      'samples that are not a number',
      ['probe', 'http://x', '--samples', 'many'],
      /--samples must be a whole number from 0 to 2000; received "many"/,
    ],
    ['too many samples', ['probe', 'http://x', '--samples', '2001'], /--samples must be/],
    ['negative samples', ['probe', 'http://x', '--samples=-1'], /--samples must be/],
    ['a zero path timeout', ['probe', 'http://x', '--path-timeout', '0'], /--path-timeout must be/],
    [
      'a missing --ca file',
      ['probe', 'https://x', '--ca', '/nonexistent/ca.pem'],
      /cannot read --ca file "\/nonexistent\/ca\.pem" \(ENOENT\)/,
    ],
  ];
  for (const [what, argv, message] of cases) {
    it(what, async () => {
      assert.match(await usageError(argv), message);
    });
  }

  it('a --ca file without a certificate', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-usage-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'not-a-ca.pem');
    await writeFile(file, 'hello');
    assert.match(await usageError(['probe', 'https://x', '--ca', file]), /holds no PEM certificate/);
  });
});

describe('bulwark --help', () => {
  it('prints the usage on stdout and exits 0', async () => {
    for (const argv of [['--help'], ['help'], ['-h']]) {
      const run = await runCli(argv);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^Usage: bulwark <command>/);
    }
    const probe = await runCli(['probe', '--help']);
    assert.equal(probe.code, 0);
    assert.equal(probe.stderr, '');
    assert.match(probe.stdout, /^Usage: bulwark probe <url> \[options\]/);
    for (const flag of [
      '--resolver',
      '--no-system',
      '--ca',
      '--insecure',
      '--method',
      '--dns-timeout',
      '--connect-timeout',
      '--tls-timeout',
      '--http-timeout',
      '--samples',
      '--path-timeout',
      '--no-path',
      '--json',
      '--strict',
    ]) {
      assert.ok(probe.stdout.includes(flag), flag);
    }
    assert.match(probe.stdout, /Exit status: 0 healthy .* 1 a layer failed,\s+2 usage error/s);
  });
});
