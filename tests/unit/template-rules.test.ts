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
