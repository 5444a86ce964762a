// The namespace test bed itself: it builds client ↔ middle ↔ server without adding anything to
// the root namespace, tears everything down (processes first), and removes what a killed run
// left behind.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLIENT_ADDRESS, createPathBed, netnsUnavailable, SERVER_ADDRESS } from './netns.ts';

const run = promisify(execFile);
const SERVER = new URL('./netns-server.ts', import.meta.url).pathname;
const skip = await netnsUnavailable();

async function namespaces(): Promise<string[]> {
  return (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
}

/** The interfaces of the root namespace, by name. */
async function rootLinks(): Promise<string[]> {
  const { stdout } = await run('ip', ['-o', 'link', 'show']);
  return stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim() ?? '')
    .sort();
}

describe('the network-namespace test bed', { skip, concurrency: true }, () => {
  it('lives in its own namespaces and leaves nothing behind when closed', async () => {
    const linksBefore = await rootLinks();
    const bed = await createPathBed({ mtu: 1_400, dropFragNeeded: true });
    const names = [bed.client.name, bed.middle.name, bed.server.name];
    assert.ok(
      names.every((n) => /^bwk\d+-\d+-[cms]$/.test(n)),
      names.join(' '),
    );
    const listed = await namespaces();
    for (const n of names) assert.ok(listed.includes(n), n);
    assert.deepEqual(await rootLinks(), linksBefore, 'no interface appears in the root namespace');
    assert.match(
      await bed.client.exec('ip', ['-4', '-o', 'addr', 'show', 'eth0']),
      new RegExp(CLIENT_ADDRESS),
    );
    assert.match(await bed.middle.exec('ip', ['route', 'show']), /mtu lock 1400/);
    assert.match(await bed.middle.exec('nft', ['list', 'ruleset']), /frag-needed drop/);
    const { line, child } = await bed.server.startNode(SERVER, [JSON.stringify({ http: 0 })]);
    const port = (JSON.parse(line) as { http: number }).http;
    // The client reaches the server through the middle (bash's /dev/tcp: no process to start).
    await bed.client.exec('bash', ['-c', `exec 3<>/dev/tcp/${SERVER_ADDRESS}/${port}`]);

    await bed.close();
    assert.notEqual(child.exitCode ?? child.signalCode, null, 'the server process was ended');
    const after = await namespaces();
    for (const n of names) assert.ok(!after.includes(n), `${n} removed`);
    await bed.close(); // idempotent
  });

  it('sweeps the namespaces of a run that was killed (by the pid in their name)', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    await once(gone, 'exit');
    const stale = `bwk${gone.pid}-1-c`;
    await run('ip', ['netns', 'add', stale]);
    assert.equal(await netnsUnavailable(), undefined);
    assert.ok(!(await namespaces()).includes(stale));
  });
});
