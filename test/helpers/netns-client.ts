// Requests (`client.request`, or `client.fetch`) made from inside a test network namespace by
// netns.ts, all at once, each with a client of its own: `node netns-client.ts '[{"url":
// "http://10.71.2.2:8080/","padding":3000,"client":{...}}, ...]'` prints the outcomes as one JSON
// array: the status, or the BulwarkError's toJSON().

import { createClient } from '../../src/client/client.ts';
import type { ClientOptions } from '../../src/client/options.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';

interface Job {
  readonly url: string;
  /** The front-end. @default 'request' */
  readonly api?: 'request' | 'fetch';
  /** Bytes of an `x-padding` header, to make the request that large. */
  readonly padding?: number;
  readonly client?: ClientOptions;
}

async function run(job: Job): Promise<unknown> {
  const client = createClient(job.client);
  const headers = job.padding ? { 'x-padding': 'x'.repeat(job.padding) } : {};
  try {
    if (job.api === 'fetch') {
      const res = await client.fetch(job.url, { headers });
      await res.arrayBuffer();
      return { ok: true, status: res.status };
    }
    const res = await client.request(job.url, { headers });
    await res.body.dump();
    return { ok: true, status: res.statusCode };
  } catch (err) {
    return { ok: false, error: isBulwarkError(err) ? err.toJSON() : String(err) };
  } finally {
    await client.close();
  }
}

const jobs = JSON.parse(process.argv[2] ?? '[]') as Job[];
console.log(JSON.stringify(await Promise.all(jobs.map(run))));
