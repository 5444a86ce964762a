// A real-time clock for client tests that records every timer it is asked for and can fix the
// random source, so a test can check the backoff delays a call slept without timing anything.
import { type Clock, systemClock, type TimerHandle } from '../../src/clock/clock.ts';

export class RecordingClock implements Clock {
  /** Every `setTimeout` duration requested, in order. */
  readonly timers: number[] = [];
  #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  now(): number {
    return systemClock.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.timers.push(ms);
    return systemClock.setTimeout(fn, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    systemClock.clearTimeout(handle);
  }

  random(): number {
    return this.#random();
  }

  /** Timers shorter than `below` ms: the backoff sleeps (deadlines are the long ones). */
  sleeps(below = 5_000): number[] {
    return this.timers.filter((ms) => ms < below);
  }
}
