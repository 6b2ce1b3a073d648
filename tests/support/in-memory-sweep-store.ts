import { type ResumeOutcome, shardOf, type Wait } from '../../domain/journeys.ts';
import type { SweepCursor } from '../../domain/ports.ts';
import type { SweepStore } from '../../domain/use-cases/sweep.ts';
import { InMemoryCustomerStore } from './in-memory-customer-store.ts';

/**
 * What the sweep reads besides the customer store, in memory and found as the DynamoDB adapter
 * finds it: last orders, birthdays and sign-up dates from the profiles, waits by due time per shard.
 */
export class InMemorySweepStore extends InMemoryCustomerStore implements SweepStore {
  readonly waits = new Map<string, Wait>();
  readonly cursors = new Map<string, SweepCursor>();
  /** How many profiles `customerIds` yields per page, like a Scan page. */
  scanPage = 100;

  private waitKey = (wait: Wait) => `${wait.customerId}/${wait.flowId}/${wait.journeyId}`;
  private waitSortKey = (wait: Wait) => `${wait.dueAt}#${wait.customerId}#${wait.flowId}#${wait.journeyId}`;

  putWait(wait: Wait) {
    this.waits.set(this.waitKey(wait), structuredClone(wait));
  }
  async dueWaits(shard: number, now: string, limit: number, after?: Wait) {
    return [...this.waits.values()]
      .filter((wait) => shardOf(`${wait.customerId}/${wait.journeyId}`) === shard)
      .filter((wait) => this.waitSortKey(wait) <= `${now}#~`)
      .filter((wait) => !after || this.waitSortKey(wait) > this.waitSortKey(after))
      .sort((a, b) => (this.waitSortKey(a) < this.waitSortKey(b) ? -1 : 1))
      .slice(0, limit)
      .map((wait) => structuredClone(wait));
  }
  async claimWait(wait: Wait, outcome: ResumeOutcome, at: string) {
    const stored = this.waits.get(this.waitKey(wait));
    if (!stored || stored.stepId !== wait.stepId || stored.status !== 'waiting') return false;
    Object.assign(stored, { status: 'resuming', outcome: stored.outcome ?? outcome, claimedAt: at });
    return true;
  }
  async deleteWait(wait: Wait) {
    if (this.waits.get(this.waitKey(wait))?.stepId === wait.stepId) this.waits.delete(this.waitKey(wait));
  }
  async lastOrderedBetween(shard: number, from: string, to: string) {
    return [...this.profiles.values()]
      .filter((p) => shardOf(p.customerId) === shard && p.lastOrderAt !== undefined)
      .filter((p) => (p.lastOrderAt ?? '') > from && (p.lastOrderAt ?? '') <= to)
      .map((p) => ({ customerId: p.customerId, lastOrderAt: p.lastOrderAt ?? '' }));
  }
  async customersWithDate(field: string, monthDay: string) {
    return [...this.profiles.values()]
      .filter((p) =>
        field === 'birthday' ? p.birthday?.slice(-5) === monthDay : p.registeredAt?.slice(5, 10) === monthDay,
      )
      .map((p) => ({ customerId: p.customerId, timeZone: p.timeZone }));
  }
  async *customerIds() {
    const ids = [...this.profiles.keys()].sort();
    for (let i = 0; i < ids.length; i += this.scanPage) yield ids.slice(i, i + this.scanPage);
  }
  async getCursor(name: string) {
    return structuredClone(this.cursors.get(name));
  }
  async setCursor(name: string, cursor: SweepCursor) {
    this.cursors.set(name, structuredClone(cursor));
  }
}
