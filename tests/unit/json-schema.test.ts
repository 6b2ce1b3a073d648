import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import * as z from 'zod';
import { programSchema } from '../../domain/program.ts';
import { flowSchema, stepSchema } from '../../domain/workflow/flow-schema.ts';
import { flowJsonSchema, programJsonSchema } from '../../domain/workflow/json-schema.ts';

// ajv (draft-07, like yaml-language-server) stands in for the editor. It is only a transitive dependency,
// so only this test imports it.
const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
ajv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
const validateFlow = ajv.compile(flowJsonSchema());
const validateProgram = ajv.compile(programJsonSchema());

const read = (path: string): unknown =>
  parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));

const errorsOf = (document: unknown): ErrorObject[] => {
  validateFlow(document);
  return validateFlow.errors ?? [];
};

const RICH = `
version: 1
id: every-step
name: Every step
description: Uses every step type, nested.
status: paused
trigger:
  event: order.placed
  where:
    total: [{ numeric: [">=", 100] }]
entry:
  when:
    - { field: profile.orderCount, gte: 1 }
    - { tag: vip }
  reentry: { after: { days: 30 } }
  cap: 5000
exit_on:
  - event: order.refunded
goal:
  event: order.placed
  within: { days: 14 }
steps:
  - { id: earn, type: award_points, award: review }
  - { id: gift, type: award_points, points: 500, reason: welcome }
  - { id: hello, type: send_email, template: welcome, topic: promotions }
  - { id: pause, type: wait, duration: { hours: 2, minutes: 30 } }
  - { id: morning, type: wait, until: { time: "09:30", weekdays: [mon, tue] } }
  - id: watch
    type: wait
    for_event: { event: order.placed, where: { currency: [USD] } }
    timeout: { days: 7 }
    on_event:
      - { id: thanks, type: send_email, template: thanks, topic: orders }
    on_timeout:
      - id: pick
        type: branch
        if:
          - when: [{ field: profile.tier, equals: gold }, { not_tag: churned }]
            steps:
              - id: test
                type: split
                paths:
                  - name: a
                    percent: 45
                    steps:
                      - { id: coupon, type: issue_coupon, discount: { percent: 15 }, valid: { days: 14 } }
                  - name: b
                    percent: 45
                    steps:
                      - { id: ship, type: issue_coupon, discount: { free_shipping: true }, valid: { days: 7 }, prefix: SHIP }
                  - { name: holdout, percent: 10, holdout: true }
        else:
          - { id: bye, type: exit }
  - { id: tag-it, type: update_profile, set: { vip: true, tier: gold }, add_tags: [a], remove_tags: [b] }
  - { id: cash, type: issue_coupon, discount: { amount: 5 }, valid: { days: 1 } }
  - { id: done, type: emit_event, event: journey.converted, data: { source: flow } }
`;

const rich = () => parse(RICH) as { steps: Record<string, unknown>[] } & Record<string, unknown>;

describe('flowJsonSchema', () => {
  const schema = flowJsonSchema();

  it('is a draft-07 schema with an id, a title and a description', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.$id).toBe('urn:rapport:schema:flow:v1');
    expect(schema.title).toBe('Rapport flow');
    expect(schema.description).toEqual(expect.any(String));
    expect(Object.keys(schema).slice(0, 4)).toEqual(['$schema', '$id', 'title', 'description']);
    expect(ajv.validateSchema(schema)).toBe(true);
  });

  it('is plain JSON and the same every time', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(JSON.stringify(flowJsonSchema())).toBe(JSON.stringify(schema));
  });

  it('names the recursive steps and each step type as definitions', () => {
    const definitions = schema.definitions as Record<string, Record<string, unknown>>;
    expect(Object.keys(definitions)).toEqual(
      expect.arrayContaining([
        'Step',
        'AwardPointsStep',
        'SendEmailStep',
        'WaitDurationStep',
        'WaitUntilStep',
        'WaitForEventStep',
        'BranchStep',
        'SplitStep',
        'UpdateProfileStep',
        'IssueCouponStep',
        'EmitEventStep',
        'ExitStep',
        'Duration',
        'Condition',
        'Trigger',
        'EventTrigger',
        'Entry',
      ]),
    );
    expect(JSON.stringify(definitions.BranchStep)).toContain('"$ref":"#/definitions/Step"');
    expect(definitions.SendEmailStep?.title).toBe('send_email');
    expect(definitions.SendEmailStep?.description).toEqual(expect.any(String));
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    expect(properties.steps).toMatchObject({
      type: 'array',
      minItems: 1,
      items: { $ref: '#/definitions/Step' },
    });
    expect(properties.exit_on?.description).toBe('Events that end the journey wherever it is.');
  });

  it('describes the input: fields with defaults are optional and show their default', () => {
    expect(schema.required).toEqual(['version', 'id', 'name', 'trigger', 'steps']);
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    expect(properties.status).toMatchObject({ default: 'active', enum: ['active', 'paused'] });
    expect(JSON.stringify(schema)).not.toContain('9007199254740991');
  });

  it('leaves zod global registry alone', () => {
    expect(z.globalRegistry.get(stepSchema)).toBeUndefined();
  });

  it('accepts every shipped flow', () => {
    for (const id of [
      'birthday',
      'points-expiring',
      'review-request',
      'thank-you',
      'tier-upgrade',
      'welcome',
      'win-back',
    ]) {
      const flow = read(`workflows/flows/${id}.yaml`);
      expect(errorsOf(flow), id).toEqual([]);
      expect(flowSchema.safeParse(flow).success, id).toBe(true);
    }
  });

  it('accepts a flow using every step type, nested, as zod does', () => {
    expect(flowSchema.safeParse(rich()).error).toBeUndefined();
    expect(errorsOf(rich())).toEqual([]);
  });

  it('accepts each trigger form', () => {
    const triggers = [
      { event: 'customer.registered' },
      { event: 'points.expiring' },
      { event: 'customer.tier-changed', where: { direction: ['up'] } },
      { event: 'points.redeemed' },
      { inactivity: { event: 'order.placed', days: 113 } },
      { date: { field: 'birthday' } },
      { date: { field: 'registration_anniversary', at: '08:00' } },
      { schedule: { every: 'week', weekday: 'mon', at: '10:00' } },
      { schedule: { every: 'month', day_of_month: 1 } },
    ];
    for (const trigger of triggers) {
      const flow = { ...rich(), trigger };
      expect(flowSchema.safeParse(flow).success, JSON.stringify(trigger)).toBe(true);
      expect(errorsOf(flow), JSON.stringify(trigger)).toEqual([]);
    }
  });

  it('rejects a misspelt step field, naming it', () => {
    const flow = read('workflows/flows/thank-you.yaml') as { steps: Record<string, unknown>[] };
    const thank = flow.steps[0]!;
    expect(thank.id).toBe('thank');
    thank.templte = thank.template;
    delete thank.template;
    expect(validateFlow(flow)).toBe(false);
    expect(errorsOf(flow)).toContainEqual(
      expect.objectContaining({
        instancePath: '/steps/0',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'templte' },
      }),
    );
    expect(flowSchema.safeParse(flow).success).toBe(false);
  });

  it('rejects a misspelt field deep inside nested steps', () => {
    const flow = rich();
    const watch = flow.steps[5] as {
      on_timeout: { if: { steps: { paths: { steps: Record<string, unknown>[] }[] }[] }[] }[];
    };
    const coupon = watch.on_timeout[0]!.if[0]!.steps[0]!.paths[0]!.steps[0]!;
    coupon.vaild = coupon.valid;
    delete coupon.valid;
    expect(errorsOf(flow)).toContainEqual(
      expect.objectContaining({
        instancePath: '/steps/5/on_timeout/0/if/0/steps/0/paths/0/steps/0',
        params: { additionalProperty: 'vaild' },
      }),
    );
  });

  it('rejects a misspelt top-level field', () => {
    expect(errorsOf({ ...rich(), exit_onn: [] })).toContainEqual(
      expect.objectContaining({ instancePath: '', params: { additionalProperty: 'exit_onn' } }),
    );
  });

  it('rejects bad enum values', () => {
    const enumErrorAt = (flow: unknown, path: string) =>
      expect(errorsOf(flow)).toContainEqual(expect.objectContaining({ instancePath: path, keyword: 'enum' }));
    enumErrorAt({ ...rich(), status: 'draft' }, '/status');
    enumErrorAt({ ...rich(), trigger: { event: 'order.shipped' } }, '/trigger/event');
    // Loyalty events may start a flow, but only commerce events end one.
    enumErrorAt({ ...rich(), exit_on: [{ event: 'points.expiring' }] }, '/exit_on/0/event');
    expect(flowSchema.safeParse({ ...rich(), exit_on: [{ event: 'points.expiring' }] }).success).toBe(false);
    enumErrorAt({ ...rich(), trigger: { schedule: { every: 'fortnight' } } }, '/trigger/schedule/every');
    const flow = rich();
    flow.steps[4] = { id: 'morning', type: 'wait', until: { time: '09:30', weekdays: ['monday'] } };
    enumErrorAt(flow, '/steps/4/until/weekdays/0');
  });

  it('rejects an unknown step type and a bad time', () => {
    expect(validateFlow({ ...rich(), steps: [{ id: 'x', type: 'send_sms' }] })).toBe(false);
    const flow = rich();
    flow.steps[4] = { id: 'morning', type: 'wait', until: { time: '9:30' } };
    expect(errorsOf(flow)).toContainEqual(
      expect.objectContaining({ instancePath: '/steps/4/until/time', keyword: 'pattern' }),
    );
  });

  it('says what the refinements say where JSON Schema can', () => {
    const withStep = (step: Record<string, unknown>) => ({ ...rich(), steps: [step] });
    const cases: [string, unknown][] = [
      ['points and a named award', withStep({ id: 'p', type: 'award_points', award: 'review', points: 5 })],
      ['neither points nor an award', withStep({ id: 'p', type: 'award_points' })],
      ['the removed for: order', withStep({ id: 'p', type: 'award_points', for: 'order' })],
      ['an update that changes nothing', withStep({ id: 'u', type: 'update_profile' })],
      ['an empty duration', withStep({ id: 'w', type: 'wait', duration: {} })],
      ['no steps', { ...rich(), steps: [] }],
    ];
    for (const [name, flow] of cases) {
      expect(validateFlow(flow), name).toBe(false);
      expect(flowSchema.safeParse(flow).success, name).toBe(false);
    }
  });

  it('leaves to zod what JSON Schema cannot say', () => {
    const flow = {
      ...rich(),
      steps: [
        {
          id: 's',
          type: 'split',
          paths: [
            { name: 'a', percent: 50 },
            { name: 'b', percent: 40 },
          ],
        },
        { id: 'w', type: 'wait', duration: { days: 0 } },
      ],
    };
    expect(validateFlow(flow)).toBe(true);
    expect(flowSchema.safeParse(flow).error?.issues.map((issue) => issue.message)).toEqual([
      'the percentages must add up to 100',
      'must be longer than zero',
    ]);
  });
});

describe('programJsonSchema', () => {
  const schema = programJsonSchema();

  it('is a draft-07 schema with an id, a title and a description', () => {
    expect(schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'urn:rapport:schema:program:v1',
      title: 'Rapport loyalty program',
    });
    expect(ajv.validateSchema(schema)).toBe(true);
  });

  it('accepts the shipped program and rejects a misspelt field', () => {
    const program = read('workflows/program.yaml') as Record<string, unknown>;
    expect(programSchema.safeParse(program).success).toBe(true);
    expect(validateProgram(program)).toBe(true);
    expect(validateProgram({ ...program, curency: 'USD' })).toBe(false);
    expect(validateProgram.errors).toContainEqual(
      expect.objectContaining({ params: { additionalProperty: 'curency' } }),
    );
  });
});
