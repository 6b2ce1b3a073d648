import { describe, expect, it } from 'vitest';
import { acceptEntries, transformInput } from '../../local/runtime/bus.ts';

// The local bus applies a rule target's input transformer as EventBridge does, from the event as
// its sender wrote it: the digits of a number above 2^53 survive a quoted placeholder.

const SOURCE = 'aws.partner/shopify.com/1/rapport';
const accept = (detail: string) => {
  const [accepted] = acceptEntries(
    [{ EventBusName: SOURCE, Source: SOURCE, DetailType: 'shopifyWebhook', Detail: detail }],
    new Date('2026-03-01T00:00:00Z'),
    { partnerBus: SOURCE },
  );
  if (!accepted?.delivered) throw new Error(`refused: ${JSON.stringify(accepted?.result)}`);
  return accepted.delivered.event;
};

describe('input transformers on the local bus', () => {
  it('puts a number’s digits, as sent, in a quoted placeholder, and the value as is in a bare one', () => {
    const event = accept('{"payload":{"order_id":820982911946154508,"note":"a b"}}');
    const input = transformInput(
      {
        paths: { orderId: '$.detail.payload.order_id', detail: '$.detail', source: '$.source' },
        template: '{"source":"<source>","detail":<detail>,"exact":{"order_id":"<orderId>"}}',
      },
      event,
    );
    expect(input).toMatchObject({ source: SOURCE, exact: { order_id: '820982911946154508' } });
    // Parsed as the target's runtime parses it: the bare number is rounded there, as in AWS.
    expect(input).toMatchObject({
      detail: { payload: { order_id: Number('820982911946154508'), note: 'a b' } },
    });
  });

  it('takes on the partner bus only events of its own partner source', () => {
    const [wrong] = acceptEntries(
      [{ EventBusName: SOURCE, Source: 'my.shop', DetailType: 'shopifyWebhook', Detail: '{}' }],
      new Date(),
      { partnerBus: SOURCE },
    );
    expect(wrong?.result.ErrorCode).toBe('NotAuthorizedForSourceException');
    const [elsewhere] = acceptEntries(
      [{ EventBusName: 'rapport-local', Source: SOURCE, DetailType: 'shopifyWebhook', Detail: '{}' }],
      new Date(),
      { partnerBus: SOURCE },
    );
    expect(elsewhere?.result.ErrorCode).toBe('NotAuthorizedForSourceException');
  });
});
