// The headers of a direct-path Response (src/http/response-headers.ts) against undici's own
// Headers holding the same fields: every read method gives the same answer, every mutator and
// every bad argument the same error (an immutable Headers: the headers of a fetch response).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Headers, Response } from 'undici';
import { ResponseHeaders } from '../../src/http/response-headers.ts';

const FIELDS: [string, string][] = [
  ['content-type', 'text/plain'],
  ['set-cookie', 'a=1; Path=/'],
  ['x-dup', 'one'],
  ['cookie', 'c=1'],
  ['set-cookie', 'b=2'],
  ['x-dup', 'two'],
  ['cookie', 'd=2'],
  ['accept-ranges', 'bytes'],
];

function ours(): Headers {
  return new ResponseHeaders(
    FIELDS.map(([n]) => n),
    FIELDS.map(([, v]) => v),
  ) as unknown as Headers;
}

function theirs(): Headers {
  const h = new Headers();
  for (const [n, v] of FIELDS) h.append(n, v);
  return h;
}

/** An immutable undici Headers (a fetch response's guard), for the errors of the mutators. */
const immutable = (): Headers => Response.error().headers;

function outcome(f: () => unknown): unknown {
  try {
    const value = f();
    return {
      value:
        typeof value === 'object' && value !== null && Symbol.iterator in value
          ? [...(value as Iterable<unknown>)]
          : value,
    };
  } catch (err) {
    return { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
}

describe("a direct-path Response's headers read as undici's Headers", () => {
  const reads: [string, (h: Headers) => unknown][] = [
    ['get a combined value', (h) => h.get('x-dup')],
    ['get cookies (joined with "; ")', (h) => h.get('Cookie')],
    ['get set-cookie (joined with ", ")', (h) => h.get('set-cookie')],
    ['get a missing name', (h) => h.get('x-none')],
    ['get a name in upper case', (h) => h.get('CONTENT-TYPE')],
    ['get a non-string name', (h) => h.get(42 as unknown as string)],
    ['get an invalid name', (h) => h.get('bad name')],
    ['get without arguments', (h) => (h.get as () => unknown)()],
    ['has', (h) => [h.has('x-dup'), h.has('X-DUP'), h.has('nope')]],
    ['has an invalid name', (h) => h.has('bad name')],
    ['getSetCookie', (h) => h.getSetCookie()],
    ['iteration (sorted, combined, set-cookie one by one)', (h) => [...h]],
    ['keys', (h) => h.keys()],
    ['values', (h) => h.values()],
    ['entries', (h) => h.entries()],
    ['the iterator class', (h) => Object.prototype.toString.call(h.entries())],
    [
      'forEach',
      (h) => {
        const seen: string[] = [];
        h.forEach((value, key, parent) => {
          seen.push(`${key}=${value}:${parent === h}`);
        });
        return seen;
      },
    ],
    ['forEach without a function', (h) => h.forEach(1 as never)],
    ['instanceof Headers', (h) => h instanceof Headers],
    ['toStringTag', (h) => Object.prototype.toString.call(h)],
  ];
  for (const [name, read] of reads) {
    it(name, () =>
      assert.deepEqual(
        outcome(() => read(ours())),
        outcome(() => read(theirs())),
      ),
    );
  }

  const writes: [string, (h: Headers) => unknown][] = [
    ['append', (h) => h.append('x-new', '1')],
    ['set', (h) => h.set('x-dup', '1')],
    ['delete', (h) => h.delete('x-dup')],
    ['append an invalid name', (h) => h.append('bad name', '1')],
    ['append with one argument', (h) => (h.append as (n: string) => unknown)('x')],
    ['delete without arguments', (h) => (h.delete as () => unknown)()],
  ];
  for (const [name, write] of writes) {
    it(`${name}: refused as by an immutable Headers`, () => {
      const h = ours();
      assert.deepEqual(
        outcome(() => write(h)),
        outcome(() => write(immutable())),
      );
      assert.deepEqual([...h], [...ours()], 'unchanged');
    });
  }
});
