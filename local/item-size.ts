import type { AttributeValue } from '@aws-sdk/client-dynamodb';

// What DynamoDB counts as an item's size (the 400 KB limit, write units per KB), from the wire form.

/** An item's size by DynamoDB's rules: names and values in UTF-8, numbers by digits, nesting overhead. */
export const itemBytes = (item: Record<string, AttributeValue>): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);
const valueBytes = (value: AttributeValue): number => {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  if (value.M)
    return (
      3 + Object.entries(value.M).reduce((sum, [n, v]) => sum + 1 + Buffer.byteLength(n) + valueBytes(v), 0)
    );
  if (value.SS) return value.SS.reduce((sum, v) => sum + Buffer.byteLength(v), 0);
  return 0;
};
