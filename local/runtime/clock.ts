import type { Clock } from '#domain/ports.ts';

/** Business time that the replay moves forward; backoff sleeps stay real. */
export class VirtualClock implements Clock {
  private time: number;
  constructor(start = Date.now()) {
    this.time = start;
  }
  now(): Date {
    return new Date(this.time);
  }
  advanceTo(date: Date | string): void {
    this.time = Math.max(this.time, new Date(date).getTime());
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
