import { describe, expect, it } from 'vitest';
import { ConfigError, formatProblem } from '../../domain/errors.ts';
import { compileProject, type WorkflowSources } from '../../domain/workflow/compile.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';

// What the compiler demands of emails: text parts beside their templates, a topic on every send,
// and no marketing content in transactional mail.

const shipped = () => readWorkflowSources();

const withFiles = (
  flows: Record<string, string>,
  emails: Record<string, string> = {},
  base: WorkflowSources = shipped(),
): WorkflowSources => ({
  ...base,
  flows: Object.entries(flows).map(([file, text]) => ({ file, text })),
  emails: [...base.emails, ...Object.entries(emails).map(([file, text]) => ({ file, text }))],
});

const problemsOf = (sources: WorkflowSources): string[] => {
  try {
    compileProject(sources);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a ConfigError');
};

const sendState = (sources: WorkflowSources, flowId: string, stepId: string) => {
  const flow = compileProject(sources).flows.find((f) => f.id === flowId);
  const states = flow?.definition.States as Record<string, { Parameters?: Record<string, unknown> }>;
  return states[stepId]?.Parameters;
};

const NOTE_FLOW = `version: 1
id: note
name: Note
trigger: { event: order.placed }
steps:
  - id: mail
    type: send_email
    template: note
    topic: orders
`;

const NOTE = `---
subject: "Order {{ event.orderId }}"
---
<p>Order <b>{{ event.orderId }}</b></p>
`;

describe('text parts', () => {
  it('sends a template with its text part from NAME.txt.liquid in the send task input', () => {
    const sources = withFiles(
      { 'workflows/flows/note.yaml': NOTE_FLOW },
      {
        'workflows/emails/note.liquid': NOTE,
        'workflows/emails/note.txt.liquid': 'Order {{ event.orderId }}\n',
      },
    );
    expect(sendState(sources, 'note', 'mail')?.template).toEqual({
      id: 'note',
      subject: 'Order {{ event.orderId }}',
      html: '<p>Order <b>{{ event.orderId }}</b></p>\n',
      text: 'Order {{ event.orderId }}\n',
    });
  });

  it('leaves the text out of the task input when it is derived from the HTML', () => {
    const sources = withFiles(
      { 'workflows/flows/note.yaml': NOTE_FLOW },
      { 'workflows/emails/note.liquid': NOTE },
    );
    expect(sendState(sources, 'note', 'mail')?.template).not.toHaveProperty('text');
  });

  it('refuses a text part without its template beside it, naming the file', () => {
    expect(problemsOf(withFiles({}, { 'workflows/emails/lonely.txt.liquid': 'Hi\n' }))).toEqual([
      'workflows/emails/lonely.txt.liquid:1: a text part needs its template lonely.liquid beside it (with the subject and the HTML)',
    ]);
  });

  it('checks what a text part reads against the trigger, naming its file and line', () => {
    const sources = withFiles(
      { 'workflows/flows/note.yaml': NOTE_FLOW },
      {
        'workflows/emails/note.liquid': NOTE,
        'workflows/emails/note.txt.liquid':
          'Order {{ event.orderId }}\n{% if true %}\n{{ event.parcel }}\n{% endif %}\n',
      },
    );
    expect(problemsOf(sources)).toEqual([
      expect.stringMatching(
        /^workflows\/emails\/note\.txt\.liquid:3: event\.parcel: flow note sends this on order\.placed, and order\.placed events have no field parcel/,
      ),
    ]);
  });

  it('reports a Liquid error in a text part with its file and line', () => {
    const sources = withFiles(
      {},
      { 'workflows/emails/note.liquid': NOTE, 'workflows/emails/note.txt.liquid': 'Hi\n{% if x %}\n' },
    );
    expect(problemsOf(sources)).toEqual([
      expect.stringMatching(/^workflows\/emails\/note\.txt\.liquid:2: text: /),
    ]);
  });
});

describe('the sender postal address', () => {
  it('is required in program.yaml, named with file, line and column', () => {
    const sources = shipped();
    const text = sources.program.text.replace(/\n {2}postalAddress: \|-\n( {4}.*\n)+/, '\n');
    expect(text).not.toContain('postalAddress');
    expect(problemsOf({ ...sources, program: { ...sources.program, text } })).toEqual([
      'workflows/program.yaml:9:3: sender.postalAddress: is required',
    ]);
  });
});

describe('topics on every email', () => {
  it('refuses a send_email without a topic, naming file, line and column', () => {
    const flow = NOTE_FLOW.replace('    topic: orders\n', '');
    expect(
      problemsOf(withFiles({ 'workflows/flows/note.yaml': flow }, { 'workflows/emails/note.liquid': NOTE })),
    ).toEqual([
      'workflows/flows/note.yaml:6:5: steps[0].topic: name the topic of this email from program.yaml topics: a transactional one for receipts, else a marketing one (it needs consent and an unsubscribe link)',
    ]);
  });

  it('sends only the shipped receipts on a transactional topic, and every other email on a marketing one', () => {
    const project = compileProject(shipped());
    const topics = Object.fromEntries(
      project.flows.flatMap(({ id, definition }) =>
        Object.entries(definition.States as Record<string, { Parameters?: { topic?: unknown } }>).flatMap(
          ([state, { Parameters }]) => (Parameters?.topic ? [[`${id}.${state}`, Parameters.topic]] : []),
        ),
      ),
    );
    const loyalty = { id: 'loyalty', transactional: false };
    const promotions = { id: 'promotions', transactional: false };
    expect(topics).toEqual({
      'birthday.card': loyalty,
      'points-expiring.remind': loyalty,
      'review-request.ask': loyalty,
      'thank-you.thank': { id: 'orders', transactional: true },
      'tier-upgrade.congratulate': loyalty,
      'welcome.hello': loyalty,
      'welcome.first-order-offer': promotions,
      'win-back.we-miss-you': promotions,
      'win-back.last-chance': promotions,
    });
  });
});

describe('no marketing in transactional email', () => {
  const COUPON_FLOW = (topic: string) => `version: 1
id: receipt
name: Receipt
trigger: { event: order.placed }
steps:
  - id: gift
    type: issue_coupon
    discount: { percent: 5 }
    valid: { days: 30 }
  - id: mail
    type: send_email
    template: receipt
    topic: ${topic}
`;
  const RECEIPT = `---
subject: "Order {{ event.orderId }}"
---
<p>Thanks for order {{ event.orderId }}.</p>
<p>Next time, use {{ steps.gift.code }}.</p>
`;

  it('refuses a coupon in a template sent on a transactional topic, naming the template file and line', () => {
    const sources = withFiles(
      { 'workflows/flows/receipt.yaml': COUPON_FLOW('orders') },
      { 'workflows/emails/receipt.liquid': RECEIPT },
    );
    expect(problemsOf(sources)).toEqual([
      'workflows/emails/receipt.liquid:5: steps.gift.code: step gift issues a coupon: flow receipt sends this template on the transactional topic orders (step mail), and transactional email may not carry a coupon or a reward; send it on a marketing topic',
    ]);
  });

  it('refuses a coupon code and a reward in a transactional text part, with its own file and line', () => {
    const sources = withFiles(
      { 'workflows/flows/receipt.yaml': COUPON_FLOW('orders').replace(/ {2}- id: gift\n(.*\n){3}/, '') },
      {
        'workflows/emails/receipt.liquid': RECEIPT.replace(
          '\n<p>Next time, use {{ steps.gift.code }}.</p>',
          '',
        ),
        'workflows/emails/receipt.txt.liquid':
          'Order {{ event.orderId }}\nUse {{ steps.any.code }}\n{{ customer.nextReward }}\n',
      },
    );
    expect(problemsOf(sources).map((p) => p.slice(0, p.indexOf(': flow')))).toEqual([
      'workflows/emails/receipt.txt.liquid:2: steps.any.code: a coupon code',
      'workflows/emails/receipt.txt.liquid:3: customer.nextReward: nextReward is a coupon or a reward',
    ]);
  });

  it('lets the same template go on a marketing topic', () => {
    const sources = withFiles(
      { 'workflows/flows/receipt.yaml': COUPON_FLOW('promotions') },
      { 'workflows/emails/receipt.liquid': RECEIPT },
    );
    expect(compileProject(sources).flows.map((f) => f.id)).toEqual(['receipt']);
  });

  it("lets a transactional email show the trigger's own transaction: a redemption's coupon", () => {
    const flow = `version: 1
id: redeemed
name: Redemption receipt
trigger: { event: points.redeemed }
steps:
  - { id: mail, type: send_email, template: redeemed, topic: orders }
`;
    const sources = withFiles(
      { 'workflows/flows/redeemed.yaml': flow },
      {
        'workflows/emails/redeemed.liquid':
          '---\nsubject: "Your {{ event.rewardName }}"\n---\n<p>Your code {{ event.couponCode }}</p>\n',
      },
    );
    expect(compileProject(sources).flows.map((f) => f.id)).toEqual(['redeemed']);
  });
});
