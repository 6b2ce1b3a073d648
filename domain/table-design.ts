// One table, one partition per customer. Declared once: CDK builds the table from this, the
// DynamoDB adapter reads and writes through it, and the local runtime creates it from the template.
export const TABLE_DESIGN = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** One sparse index for everything found by time or date: due waits, last orders, birthdays. */
  index: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** Epoch seconds after which DynamoDB deletes the item (within days: reads filter on it too). */
  timeToLive: 'ttl',
} as const;

/**
 * How long finished items stay. Journeys and send claims outlive the bus archive (365 days), so a
 * replayed event still finds its journey and its claim and starts or sends nothing twice, and a
 * year of journeys stays for reporting. Coupons stay 90 days past their expiry for support cases.
 * A wait claimed and never resumed (its continuation kept failing) is given up after the
 * dead-letter queue's 14 days. Orders, ledger entries, profiles and flow memory never expire.
 */
export const RETENTION_DAYS = {
  finished: 400,
  couponAfterExpiry: 90,
  claimedWait: 14,
  /** A refund or cancellation whose order never comes is kept this long (then it is gone). */
  pendingEvent: 90,
} as const;

/** The `ttl` attribute: `days` after an ISO time, in epoch seconds. */
export const expiresAfter = (iso: string, days: number): number =>
  Math.floor(Date.parse(iso) / 1000) + days * 86_400;

export const keys = {
  customer: (customerId: string) => `CUSTOMER#${customerId}`,
  profile: 'PROFILE',
  order: (orderId: string) => `ORDER#${orderId}`,
  ledger: (entryId: string) => `LEDGER#${entryId}`,
  send: (key: string) => `SEND#${key}`,
  /** The customer's recent marketing sends, for frequency caps across flows. */
  pacing: 'PACING',
  flowMemory: (flowId: string) => `FLOW#${flowId}`,
  journey: (flowId: string, journeyId: string) => `JOURNEY#${flowId}#${journeyId}`,
  wait: (flowId: string, journeyId: string) => `JOURNEY#${flowId}#${journeyId}#WAIT`,
  coupon: (code: string) => `COUPON#${code}`,
  /** A code's own partition: one item per code across the table, so no two coupons share one. */
  couponCode: (code: string) => `COUPON#${code}`,
  couponCodeItem: 'CODE',
  date: (field: string) => `DATE#${field}`,
  /** An order's own partition, by order id alone: who owns it, and the events that wait for it. */
  orderRef: (orderId: string) => `ORDERREF#${orderId}`,
  orderOwner: 'OWNER',
  pendingEvent: (factKey: string) => `PENDING#${factKey}`,
  flowCounter: (flowId: string) => `FLOWCOUNT#${flowId}`,
  flowCounterItem: 'COUNT',
  cursor: 'SWEEP',
  /** Under the cursor partition: which timing rules the points timer index agrees with. */
  timerIndexState: 'TIMER_INDEX',
  /** The points account's next due time, on the index: one item per customer with anything due. */
  pointsDue: 'POINTS_DUE',
  /** The customer's last order on the activity index, apart from the profile (no index write per profile write). */
  activity: 'ACTIVITY',
  /** What an erasure did (kinds and counts, no personal data): written last, so it means done. */
  erasureReceipt: 'ERASURE',
  /** A sending identity's hourly SES counters and the bounces and complaints counted (reputation.ts). */
  reputation: (identity: string) => `REPUTATION#${identity}`,
  reputationHour: (hour: string) => `HOUR#${hour}`,
  sesFeedback: (eventKey: string) => `FEEDBACK#${eventKey}`,
  /** Every identity's pause of marketing mail in one partition, so `rapport sending status` lists them. */
  sending: 'SENDING',
  sendingPause: (identity: string) => `PAUSE#${identity}`,
  /** A signed API request seen (its digest), so a replay of it is refused: one partition each. */
  request: (digest: string) => `REQUEST#${digest}`,
  requestSeen: 'SEEN',
  indexTimer: (shard: number) => `TIMER#${shard}`,
  indexActivity: (shard: number) => `ACTIVITY#${shard}`,
  indexPointsDue: (shard: number) => `POINTSDUE#${shard}`,
  indexDate: (field: string, monthDay: string) => `DATE#${field}#${monthDay}`,
} as const;
