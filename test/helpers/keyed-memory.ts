// Run in a child process with --expose-gc by test/policy/keyed.test.ts: makes a breaker (a real
// opossum instance) for each of N distinct keys through a KeyedMap bounded at maxKeys, a new key
// per virtual millisecond, and prints the heap before, after, and the live keys as JSON.
//   node --expose-gc test/helpers/keyed-memory.ts <keys> <maxKeys> <keyIdleTimeout>
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { BREAKER_DEFAULTS, Breaker } from '../../src/policy/breaker.ts';
import { KeyedMap } from '../../src/policy/keyed.ts';

const [keys, maxKeys, keyIdleTimeout] = process.argv.slice(2).map(Number) as [number, number, number];
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const clock = new VirtualClock();
const map = new KeyedMap({ maxKeys, keyIdleTimeout }, clock, {
  create: () => new Breaker(BREAKER_DEFAULTS, clock, { isFailure: () => true }),
  dispose: (breaker) => breaker.shutdown(),
});
const before = heap();
for (let i = 0; i < keys; i++) {
  map.get(`user-${i}`, clock.now());
  if (i % 1000 === 999) await clock.advance(1_000);
}
const after = heap();
console.log(JSON.stringify({ before, after, live: map.size, dropped: map.dropped }));
