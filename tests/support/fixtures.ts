import { readFileSync } from 'node:fs';

/** An EventBridge event from tests/fixtures/events, as a fresh object each time. */
export const eventFixture = (name: 'order-placed' | 'order-refunded' | 'customer-registered') =>
  JSON.parse(readFileSync(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8')) as {
    id: string;
    'detail-type': string;
    source: string;
    time: string;
    detail: Record<string, unknown>;
  };
