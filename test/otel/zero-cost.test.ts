// With bulwark/otel not loaded (or stopped) a call costs nothing of it: the main entry point loads
// without @opentelemetry/api installed, and with nobody on `bulwark:call:start` no call gets a
// trace, so nothing is published on the attempt and end channels either.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '../../src/client/client.ts';
import { callStartChannel } from '../../src/http/call-trace.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('bulwark/otel: zero cost when not installed or not enabled', () => {
  it('the main entry point never loads @opentelemetry/api (a resolve hook refuses it)', async () => {
    const script = `
      import { registerHooks } from 'node:module';
      registerHooks({
        resolve(specifier, context, next) {
          if (specifier.startsWith('@opentelemetry/')) throw new Error('loaded ' + specifier);
          return next(specifier, context);
        },
      });
      const bulwark = await import('./src/index.ts');
      const client = bulwark.createClient();
      await client.close();
      let refused;
      try { await import('./src/otel/index.ts'); } catch (err) { refused = err.message; }
      console.log(typeof bulwark.createClient, refused);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
    });
    // The main entry loads; bulwark/otel itself is what needs the API.
    assert.equal(stdout.trim(), 'function loaded @opentelemetry/api');
  });

  it('no subscriber on bulwark:call:start: no call is traced, nothing is published', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient();
    t.after(() => client.close());
    const published: unknown[] = [];
    const record = (m: unknown) => published.push(m);
    diagnostics.subscribe('bulwark:call:attempt', record);
    diagnostics.subscribe('bulwark:call:end', record);
    t.after(() => {
      diagnostics.unsubscribe('bulwark:call:attempt', record);
      diagnostics.unsubscribe('bulwark:call:end', record);
    });
    assert.equal(callStartChannel.hasSubscribers, false);
    await (await client.fetch(server.url)).text();
    await (await client.request(server.url)).body.text();
    assert.deepEqual(published, []);
    // With a subscriber, the same calls are traced start to end.
    const started: unknown[] = [];
    const onStart = (m: unknown) => started.push(m);
    diagnostics.subscribe('bulwark:call:start', onStart);
    t.after(() => diagnostics.unsubscribe('bulwark:call:start', onStart));
    await (await client.fetch(server.url)).text();
    assert.equal(started.length, 1);
    assert.equal(published.length, 2); // one attempt, one end
    assert.equal(published[1], started[0]); // one message object per call
  });
});
