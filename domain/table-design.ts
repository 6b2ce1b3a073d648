// One table, one partition per customer. Declared once: CDK builds the table from this, the
// DynamoDB adapter reads and writes through it, and the local runtime creates it from the template.
export const TABLE_DESIGN = {
  partitionKey: 'pk',
  sortKey: 'sk',
} as const;

export const keys = {
  customer: (customerId: string) => `CUSTOMER#${customerId}`,
  profile: 'PROFILE',
  order: (orderId: string) => `ORDER#${orderId}`,
  ledger: (entryId: string) => `LEDGER#${entryId}`,
  send: (key: string) => `SEND#${key}`,
} as const;
