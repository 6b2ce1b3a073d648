// One table, one partition per customer. Declared once: CDK builds the table from this, the
// DynamoDB adapter reads and writes through it, and the local runtime creates it from the template.
export const TABLE_DESIGN = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** One sparse index for everything found by time or date: due waits, last orders, birthdays. */
  index: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export const keys = {
  customer: (customerId: string) => `CUSTOMER#${customerId}`,
  profile: 'PROFILE',
  order: (orderId: string) => `ORDER#${orderId}`,
  ledger: (entryId: string) => `LEDGER#${entryId}`,
  send: (key: string) => `SEND#${key}`,
  flowMemory: (flowId: string) => `FLOW#${flowId}`,
  journey: (flowId: string, journeyId: string) => `JOURNEY#${flowId}#${journeyId}`,
  wait: (flowId: string, journeyId: string) => `JOURNEY#${flowId}#${journeyId}#WAIT`,
  coupon: (code: string) => `COUPON#${code}`,
  date: (field: string) => `DATE#${field}`,
  flowCounter: (flowId: string) => `FLOWCOUNT#${flowId}`,
  cursor: 'SWEEP',
  /** Under the cursor partition: which timing rules the points timer index agrees with. */
  timerIndexState: 'TIMER_INDEX',
  /** The points account's next due time, on the index: one item per customer with anything due. */
  pointsDue: 'POINTS_DUE',
  indexTimer: (shard: number) => `TIMER#${shard}`,
  indexActivity: (shard: number) => `ACTIVITY#${shard}`,
  indexPointsDue: (shard: number) => `POINTSDUE#${shard}`,
  indexDate: (field: string, monthDay: string) => `DATE#${field}#${monthDay}`,
} as const;
