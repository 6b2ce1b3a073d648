import type { ReputationBucket, ReputationStore, SendingPause } from '../../domain/ports.ts';

/** The reputation store in memory, behaving as the DynamoDB adapter does. */
export class InMemoryReputationStore implements ReputationStore {
  readonly hours = new Map<string, ReputationBucket>();
  readonly counted = new Set<string>();
  readonly pauseItems = new Map<string, SendingPause>();

  private bucket(identity: string, hour: string): ReputationBucket {
    const key = `${identity}#${hour}`;
    let bucket = this.hours.get(key);
    if (!bucket) {
      bucket = { hour, sends: 0, bounces: 0, complaints: 0 };
      this.hours.set(key, bucket);
    }
    return bucket;
  }

  async countSends(identity: string, hour: string, sends: number): Promise<void> {
    this.bucket(identity, hour).sends += sends;
  }

  async countFeedback(identity: string, hour: string, kind: 'bounces' | 'complaints', eventKey: string) {
    const key = `${identity}#${eventKey}`;
    if (this.counted.has(key)) return 'duplicate' as const;
    this.counted.add(key);
    this.bucket(identity, hour)[kind] += 1;
    return 'applied' as const;
  }

  async buckets(identity: string, from: string, to: string): Promise<ReputationBucket[]> {
    return [...this.hours.entries()]
      .filter(([key, b]) => key.startsWith(`${identity}#`) && b.hour >= from && b.hour <= to)
      .map(([, b]) => ({ ...b }))
      .sort((a, b) => a.hour.localeCompare(b.hour));
  }

  async getPause(identity: string): Promise<SendingPause | undefined> {
    const pause = this.pauseItems.get(identity);
    return pause && { ...pause };
  }

  async pauses(): Promise<SendingPause[]> {
    return [...this.pauseItems.values()].map((p) => ({ ...p }));
  }

  async pause(pause: SendingPause & { status: 'paused' }) {
    if (this.pauseItems.get(pause.identity)?.status === 'paused') return 'already-paused' as const;
    this.pauseItems.set(pause.identity, { ...pause });
    return 'applied' as const;
  }

  async resume(identity: string, at: string): Promise<boolean> {
    const pause = this.pauseItems.get(identity);
    if (pause?.status !== 'paused') return false;
    this.pauseItems.set(identity, { ...pause, status: 'resumed', resumedAt: at });
    return true;
  }
}
