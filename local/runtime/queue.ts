// Executions waiting to run: at most `concurrency` at once, as a Step Functions account runs a
// bounded number of state transitions; drain() resolves once nothing is queued or running.

export class ExecutionQueue {
  private readonly waiting: (() => Promise<void>)[] = [];
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  /** Work that waits until nothing else runs (it may queue more): the local stand-in for "later". */
  private readonly later: (() => void)[] = [];

  constructor(private readonly concurrency: number) {}

  /** Runs `task` once nothing is queued or running (before drain() resolves). */
  whenIdle(task: () => void): void {
    this.later.push(task);
    if (this.pending === 0) this.settle();
  }

  private settle(): void {
    while (this.pending === 0 && this.later.length > 0) this.later.shift()?.();
    if (this.pending === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  push(run: () => Promise<void>): void {
    this.waiting.push(run);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.active++;
      void next().finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.waiting.length === 0) this.settle();
      });
    }
  }

  /** Executions queued or running. */
  get pending(): number {
    return this.active + this.waiting.length;
  }

  /** Resolves when nothing is queued or running, including executions started by executions. */
  drain(): Promise<void> {
    if (this.pending === 0 && this.later.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
