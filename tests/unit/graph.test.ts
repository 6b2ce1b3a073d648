import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Flow, flowSchema } from '../../domain/workflow/flow-schema.ts';
import { escapeLabel, flowToMermaid } from '../../domain/workflow/graph.ts';

const flowOf = (yamlText: string): Flow => flowSchema.parse(parse(yamlText));

const HEADER = 'version: 1\nid: test-flow\nname: Test flow\n';

/** A flow with the given trigger and steps (YAML, indented as under `steps:`). */
const flow = (steps: string, rest = 'trigger:\n  event: order.placed\n'): Flow =>
  flowOf(`${HEADER}${rest}steps:\n${steps}`);

const graph = (steps: string, rest?: string): string[] => flowToMermaid(flow(steps, rest)).split('\n');

/** The trigger node's line for a trigger written in YAML. */
const triggerLine = (trigger: string): string | undefined =>
  graph('  - id: x\n    type: exit\n', `trigger:\n${trigger}`).find((line) =>
    line.includes('flow_trigger(['),
  );

// A tiny reader for the subset of Mermaid flowToMermaid writes, to check the output is well formed.
const NODE =
  /^ {2}([A-Za-z_][A-Za-z0-9_]*)(\["[^"]*"\]|\("[^"]*"\)|\(\["[^"]*"\]\)|\{"[^"]*"\}|\{\{"[^"]*"\}\}|\[\/"[^"]*"\/\]|>"[^"]*"\])$/;
const EDGE = /^ {2}([A-Za-z_][A-Za-z0-9_]*) (-->|-\.-)(?:\|"([^"]*)"\|)? ([A-Za-z_][A-Za-z0-9_]*)$/;

const structure = (text: string) => {
  const [header, ...lines] = text.split('\n');
  expect(header).toBe('flowchart TD');
  const nodes = new Set<string>();
  const edges: { from: string; to: string; label: string | undefined }[] = [];
  for (const line of lines) {
    const node = NODE.exec(line);
    const edge = EDGE.exec(line);
    if (node) {
      expect(nodes.has(node[1]!), `node ${node[1]} declared twice`).toBe(false);
      nodes.add(node[1]!);
    } else if (edge) {
      edges.push({ from: edge[1]!, to: edge[4]!, label: edge[3] });
    } else {
      expect(line, 'a line that is neither a comment, a node nor an edge').toMatch(/^ {2}%% [a-z]/);
    }
  }
  for (const { from, to } of edges) {
    expect(nodes, `edge ${from} --> ${to}`).toContain(from);
    expect(nodes, `edge ${from} --> ${to}`).toContain(to);
  }
  return { nodes, edges };
};

const RICH = `${HEADER}
description: Every step type, nested.
trigger:
  event: order.placed
  where:
    total: [{ numeric: [">=", 100] }]
entry:
  when:
    - field: profile.orderCount
      gte: 1
  reentry: once
  cap: 5000
exit_on:
  - event: order.refunded
goal:
  event: order.placed
  within: { days: 14 }
steps:
  - id: award
    type: award_points
    points: 500
    reason: welcome gift
  - id: pick-path
    type: branch
    if:
      - when:
          - field: profile.orderCount
            gte: 2
          - tag: vip
        steps:
          - id: vip-mail
            type: send_email
            template: vip
            topic: promotions
      - when: [{ not_tag: churned }]
        steps: []
    else:
      - id: bye
        type: exit
  - id: test
    type: split
    paths:
      - name: a
        percent: 45
        steps:
          - id: wait-a
            type: wait
            duration: { days: 7 }
      - name: b
        percent: 45
      - name: holdout
        percent: 10
        holdout: true
  - id: watch
    type: wait
    for_event: { event: order.placed }
    timeout: { days: 7 }
    on_timeout:
      - id: coupon
        type: issue_coupon
        discount: { percent: 15 }
        valid: { days: 14 }
  - id: until
    type: wait
    until: { time: "10:00", weekdays: [mon, tue] }
  - id: tag-it
    type: update_profile
    set: { vip: true }
    add_tags: [a, b]
    remove_tags: [lapsed]
  - id: end
    type: emit_event
    event: journey.converted
`;

describe('flowToMermaid', () => {
  it('draws the shipped thank-you flow', () => {
    const text = readFileSync(new URL('../../workflows/flows/thank-you.yaml', import.meta.url), 'utf8');
    expect(flowToMermaid(flowOf(text))).toBe(
      [
        'flowchart TD',
        '  %% thank-you: Post-purchase thank-you',
        '  flow_trigger(["order.placed"])',
        '  s_thank["thank: send_email thank-you (topic orders)"]',
        '  flow_end(["End"])',
        '  flow_trigger --> s_thank',
        '  s_thank --> flow_end',
      ].join('\n'),
    );
  });

  it('draws a flow with every step type, nested, as the exact chart', () => {
    expect(flowToMermaid(flowOf(RICH))).toBe(
      [
        'flowchart TD',
        '  %% test-flow: Test flow',
        '  flow_trigger(["order.placed where total ≥ 100"])',
        '  flow_entry[/"entry: profile.orderCount ≥ 1; once ever; at most 5000 at once"/]',
        '  flow_note>"exits on order.refunded; goal: order.placed within 14 days"]',
        '  s_award["award: award 500 points (welcome gift)"]',
        '  s_pick_path{"pick-path: branch"}',
        '  s_vip_mail["vip-mail: send_email vip (topic promotions)"]',
        '  s_bye["bye: exit"]',
        '  s_test{{"test: split"}}',
        '  s_wait_a("wait-a: wait 7 days")',
        '  s_watch{{"watch: wait for order.placed, at most 7 days"}}',
        '  s_coupon["coupon: issue coupon 15% off, valid 14 days"]',
        '  s_until("until: wait until 10:00 on mon, tue")',
        '  s_tag_it["tag-it: update profile: set vip, add tags a, b, remove tags lapsed"]',
        '  s_end["end: emit journey.converted"]',
        '  flow_end(["End"])',
        '  flow_exit(["Exit"])',
        '  flow_holdout(["Holdout"])',
        '  flow_trigger --> flow_entry',
        '  flow_trigger -.- flow_note',
        '  flow_entry --> s_award',
        '  s_award --> s_pick_path',
        '  s_pick_path -->|"profile.orderCount ≥ 2 and tag vip"| s_vip_mail',
        '  s_pick_path -->|"else"| s_bye',
        '  s_bye --> flow_exit',
        '  s_vip_mail --> s_test',
        '  s_pick_path -->|"not tag churned"| s_test',
        '  s_test -->|"a 45%"| s_wait_a',
        '  s_test -->|"holdout 10%"| flow_holdout',
        '  s_wait_a --> s_watch',
        '  s_test -->|"b 45%"| s_watch',
        '  s_watch -->|"timeout"| s_coupon',
        '  s_watch -->|"order.placed"| s_until',
        '  s_coupon --> s_until',
        '  s_until --> s_tag_it',
        '  s_tag_it --> s_end',
        '  s_end --> flow_end',
      ].join('\n'),
    );
    const { nodes, edges } = structure(flowToMermaid(flowOf(RICH)));
    expect(nodes.size).toBe(17);
    expect(edges).toHaveLength(19);
  });

  it('is deterministic', () => {
    expect(flowToMermaid(flowOf(RICH))).toBe(flowToMermaid(flowOf(RICH)));
  });

  describe('the trigger node', () => {
    it('names the event', () => {
      expect(triggerLine('  event: customer.registered\n')).toBe('  flow_trigger(["customer.registered"])');
    });

    it('puts an event filter in words', () => {
      const where = (filter: string) => triggerLine(`  event: order.placed\n  where:\n${filter}`);
      expect(where('    total: [{ numeric: [">=", 100] }]\n')).toContain('"order.placed where total ≥ 100"');
      expect(where('    total: [{ numeric: [">", 0, "<=", 50] }]\n')).toContain(
        'where total #gt; 0 and ≤ 50',
      );
      expect(where('    currency: [USD, EUR]\n')).toContain('where currency is USD or EUR');
      expect(where('    currency: [USD]\n    total: [{ numeric: ["<", 10] }]\n')).toContain(
        'where currency is USD and total #lt; 10',
      );
      expect(where('    email: [{ suffix: "@example.com" }]\n')).toContain(
        'where email ends with @example.com',
      );
      expect(where('    orderId: [{ prefix: web- }]\n')).toContain('where orderId starts with web-');
      expect(where('    currency: [{ anything-but: [USD, EUR] }]\n')).toContain(
        'where currency is none of USD, EUR',
      );
      expect(where('    orderId: [{ anything-but: { prefix: test- } }]\n')).toContain(
        'where orderId does not start with test-',
      );
      expect(where('    coupon: [{ exists: false }]\n')).toContain('where coupon is missing');
      expect(where('    items:\n      category: [books]\n')).toContain('where items.category is books');
      expect(
        where('    $or:\n      - currency: [USD]\n      - total: [{ numeric: [">", 100] }]\n'),
      ).toContain('where (currency is USD or total #gt; 100)');
    });

    it('describes inactivity in days', () => {
      expect(triggerLine('  inactivity: { event: order.placed, days: 113 }\n')).toBe(
        '  flow_trigger(["no order.placed for 113 days"])',
      );
      expect(triggerLine('  inactivity: { event: order.placed, days: 1 }\n')).toContain(
        '"no order.placed for 1 day"',
      );
    });

    it('describes a date, with its default time', () => {
      expect(triggerLine('  date: { field: birthday }\n')).toBe('  flow_trigger(["birthday at 09:00"])');
      expect(triggerLine('  date: { field: registration_anniversary, at: "08:30" }\n')).toContain(
        '"registration anniversary at 08:30"',
      );
    });

    it('describes a schedule', () => {
      expect(triggerLine('  schedule: { every: week, weekday: mon }\n')).toBe(
        '  flow_trigger(["every week on mon at 10:00"])',
      );
      expect(triggerLine('  schedule: { every: day, at: "07:15" }\n')).toContain('"every day at 07:15"');
      expect(triggerLine('  schedule: { every: month, day_of_month: 1 }\n')).toContain(
        '"every month on day 1 at 10:00"',
      );
    });
  });

  describe('the entry node', () => {
    it('is left out when the entry rules are the defaults', () => {
      const text = graph('  - id: x\n    type: exit\n').join('\n');
      expect(text).not.toContain('flow_entry');
      expect(text).toContain('flow_trigger --> s_x');
    });

    it('shows re-entry after a duration and sits between the trigger and the first step', () => {
      const lines = graph(
        '  - id: x\n    type: exit\n',
        'trigger:\n  event: order.placed\nentry:\n  reentry: { after: { days: 30, hours: 12 } }\n',
      );
      expect(lines).toContain('  flow_entry[/"entry: again after 30 days 12 hours"/]');
      expect(lines).toContain('  flow_trigger --> flow_entry');
      expect(lines).toContain('  flow_entry --> s_x');
    });

    it('shows a cap alone', () => {
      const lines = graph(
        '  - id: x\n    type: exit\n',
        'trigger:\n  event: order.placed\nentry:\n  cap: 10\n',
      );
      expect(lines).toContain('  flow_entry[/"entry: at most 10 at once"/]');
    });

    it('puts every kind of condition in words', () => {
      const entry = `trigger:
  event: order.placed
entry:
  when:
    - { field: profile.tier, equals: gold }
    - { field: profile.tier, not_equals: bronze }
    - { field: event.total, gt: 10 }
    - { field: event.total, lt: 500 }
    - { field: profile.orderCount, lte: 3 }
    - { field: profile.birthday, exists: true }
    - { field: profile.phone, exists: false }
    - { field: profile.email, starts_with: ada }
    - { tag: vip }
    - { not_tag: churned }
`;
      const line = graph('  - id: x\n    type: exit\n', entry).find((l) => l.includes('flow_entry[/'));
      expect(line).toBe(
        '  flow_entry[/"entry: profile.tier = gold and profile.tier ≠ bronze and event.total #gt; 10 and ' +
          'event.total #lt; 500 and profile.orderCount ≤ 3 and profile.birthday exists and profile.phone is missing ' +
          'and profile.email starts with ada and tag vip and not tag churned"/]',
      );
    });
  });

  describe('step labels', () => {
    const label = (step: string): string | undefined => graph(step).find((line) => line.startsWith('  s_'));

    it('describes points', () => {
      expect(label('  - id: gift\n    type: award_points\n    points: 1\n')).toBe(
        '  s_gift["gift: award 1 point"]',
      );
      expect(label('  - id: gift\n    type: award_points\n    points: 200\n')).toBe(
        '  s_gift["gift: award 200 points"]',
      );
      expect(label('  - id: gift\n    type: award_points\n    award: birthday\n')).toBe(
        '  s_gift["gift: award birthday"]',
      );
      expect(
        label('  - id: ask\n    type: award_points\n    award: review\n    reason: Thanks for the review\n'),
      ).toBe('  s_ask["ask: award review (Thanks for the review)"]');
    });

    it('describes an email with its topic', () => {
      expect(label('  - id: mail\n    type: send_email\n    template: sale\n    topic: promotions\n')).toBe(
        '  s_mail["mail: send_email sale (topic promotions)"]',
      );
    });

    it('describes the three waits', () => {
      expect(label('  - id: w\n    type: wait\n    duration: { hours: 2, minutes: 30 }\n')).toBe(
        '  s_w("w: wait 2 hours 30 minutes")',
      );
      expect(label('  - id: w\n    type: wait\n    duration: { minutes: 1 }\n')).toBe(
        '  s_w("w: wait 1 minute")',
      );
      expect(label('  - id: w\n    type: wait\n    until: { time: "09:30" }\n')).toBe(
        '  s_w("w: wait until 09:30")',
      );
      expect(
        label(
          '  - id: w\n    type: wait\n    for_event: { event: order.placed, where: { total: [{ numeric: [">=", 50] }] } }\n    timeout: { days: 3 }\n',
        ),
      ).toBe('  s_w{{"w: wait for order.placed where total ≥ 50, at most 3 days"}}');
    });

    it('describes coupons', () => {
      const coupon = (discount: string) =>
        label(`  - id: c\n    type: issue_coupon\n    discount: ${discount}\n    valid: { days: 1 }\n`);
      expect(coupon('{ percent: 15 }')).toBe('  s_c["c: issue coupon 15% off, valid 1 day"]');
      expect(coupon('{ amount: 5 }')).toBe('  s_c["c: issue coupon 5 off, valid 1 day"]');
      expect(coupon('{ free_shipping: true }')).toBe('  s_c["c: issue coupon free shipping, valid 1 day"]');
    });

    it('describes profile updates', () => {
      expect(label('  - id: u\n    type: update_profile\n    set: { vip: true, tier: gold }\n')).toBe(
        '  s_u["u: update profile: set vip, tier"]',
      );
      expect(label('  - id: u\n    type: update_profile\n    remove_tags: [new]\n')).toBe(
        '  s_u["u: update profile: remove tags new"]',
      );
    });

    it('describes events and exits', () => {
      expect(label('  - id: e\n    type: emit_event\n    event: journey.converted\n')).toBe(
        '  s_e["e: emit journey.converted"]',
      );
      expect(label('  - id: stop\n    type: exit\n')).toBe('  s_stop["stop: exit"]');
    });
  });

  describe('branching and rejoining', () => {
    it('joins every branch at the step after the branch, and an empty else directly', () => {
      const lines = graph(`  - id: pick
    type: branch
    if:
      - when: [{ field: profile.orderCount, gte: 2 }, { tag: vip }]
        steps:
          - { id: a1, type: send_email, template: a, topic: orders }
          - { id: a2, type: send_email, template: b, topic: orders }
      - when: [{ field: profile.orderCount, equals: 1 }]
        steps: []
  - { id: after, type: exit }
`);
      expect(lines).toContain('  s_pick{"pick: branch"}');
      expect(lines).toContain('  s_pick -->|"profile.orderCount ≥ 2 and tag vip"| s_a1');
      expect(lines).toContain('  s_a1 --> s_a2');
      expect(lines).toContain('  s_a2 --> s_after');
      expect(lines).toContain('  s_pick -->|"profile.orderCount = 1"| s_after');
      expect(lines).toContain('  s_pick -->|"else"| s_after');
      expect(lines).toContain('  s_after --> flow_exit');
      expect(lines).not.toContain('  flow_end(["End"])');
    });

    it('joins at the End node when the branching step is the last', () => {
      const lines = graph(`  - id: pick
    type: branch
    if:
      - when: [{ tag: vip }]
        steps: [{ id: a, type: emit_event, event: vip.seen }]
    else: [{ id: b, type: emit_event, event: other.seen }]
`);
      expect(lines).toContain('  s_a --> flow_end');
      expect(lines).toContain('  s_b --> flow_end');
      expect(lines.filter((line) => line === '  flow_end(["End"])')).toHaveLength(1);
    });

    it('does not rejoin after an exit, however deep', () => {
      const text = flowToMermaid(
        flow(`  - id: outer
    type: split
    paths:
      - name: a
        percent: 50
        steps:
          - id: inner
            type: branch
            if:
              - when: [{ tag: vip }]
                steps: [{ id: leave, type: exit }]
      - { name: b, percent: 50 }
  - { id: next, type: send_email, template: x, topic: orders }
`),
      );
      const lines = text.split('\n');
      expect(lines).toContain('  s_outer -->|"a 50%"| s_inner');
      expect(lines).toContain('  s_inner -->|"tag vip"| s_leave');
      expect(lines).toContain('  s_leave --> flow_exit');
      expect(lines).toContain('  s_inner -->|"else"| s_next');
      expect(lines).toContain('  s_outer -->|"b 50%"| s_next');
      expect(lines).toContain('  s_next --> flow_end');
      expect(text).not.toMatch(/s_leave --> s_/);
      structure(text);
    });

    it('sends holdout paths to the Holdout node, with their percentage', () => {
      const lines = graph(`  - id: ab
    type: split
    paths:
      - { name: treated, percent: 80, steps: [{ id: t, type: send_email, template: x, topic: orders }] }
      - { name: holdout, percent: 10, holdout: true }
      - { name: control, percent: 10, holdout: true }
  - { id: after, type: emit_event, event: split.done }
`);
      expect(lines).toContain('  s_ab{{"ab: split"}}');
      expect(lines).toContain('  s_ab -->|"treated 80%"| s_t');
      expect(lines).toContain('  s_t --> s_after');
      expect(lines).toContain('  s_ab -->|"holdout 10%"| flow_holdout');
      expect(lines).toContain('  s_ab -->|"control 10% (holdout)"| flow_holdout');
      expect(lines).toContain('  flow_holdout(["Holdout"])');
      expect(lines.filter((line) => line.endsWith('--> s_after'))).toHaveLength(1);
    });

    it('gives a wait for an event an edge for the event and one for the timeout', () => {
      const lines = graph(`  - id: watch
    type: wait
    for_event: { event: order.refunded }
    timeout: { hours: 48 }
    on_event:
      - { id: sorry, type: send_email, template: sorry, topic: orders }
  - { id: next, type: exit }
`);
      expect(lines).toContain('  s_watch{{"watch: wait for order.refunded, at most 48 hours"}}');
      expect(lines).toContain('  s_watch -->|"order.refunded"| s_sorry');
      expect(lines).toContain('  s_sorry --> s_next');
      expect(lines).toContain('  s_watch -->|"timeout"| s_next');
    });

    it('lets nested waits, splits and branches inside each other rejoin level by level', () => {
      const text = flowToMermaid(
        flow(`  - id: w
    type: wait
    for_event: { event: order.placed }
    timeout: { days: 1 }
    on_timeout:
      - id: s
        type: split
        paths:
          - name: x
            percent: 50
            steps:
              - id: b
                type: branch
                if: [{ when: [{ tag: t }], steps: [{ id: deep, type: emit_event, event: deep.done }] }]
          - { name: y, percent: 50 }
      - { id: after-split, type: emit_event, event: split.done }
`),
      );
      const lines = text.split('\n');
      expect(lines).toContain('  s_w -->|"timeout"| s_s');
      expect(lines).toContain('  s_deep --> s_after_split');
      expect(lines).toContain('  s_b -->|"else"| s_after_split');
      expect(lines).toContain('  s_s -->|"y 50%"| s_after_split');
      expect(lines).toContain('  s_after_split --> flow_end');
      expect(lines).toContain('  s_w -->|"order.placed"| flow_end');
      structure(text);
    });
  });

  describe('the note', () => {
    it('lists exit events and the goal', () => {
      const lines = graph(
        '  - { id: x, type: exit }\n',
        `trigger:
  event: order.placed
exit_on:
  - event: order.refunded
  - event: order.placed
    where: { total: [{ numeric: [">=", 100] }] }
goal:
  event: order.placed
  where: { currency: [USD] }
  within: { days: 1, hours: 6 }
`,
      );
      expect(lines).toContain(
        '  flow_note>"exits on order.refunded or order.placed where total ≥ 100; goal: order.placed where currency is USD within 1 day 6 hours"]',
      );
      expect(lines).toContain('  flow_trigger -.- flow_note');
    });

    it('shows a goal alone, and no note without exit events or a goal', () => {
      const goal = graph(
        '  - { id: x, type: exit }\n',
        'trigger:\n  event: order.placed\ngoal:\n  event: order.placed\n  within: { days: 14 }\n',
      );
      expect(goal).toContain('  flow_note>"goal: order.placed within 14 days"]');
      expect(graph('  - { id: x, type: exit }\n').join('\n')).not.toContain('flow_note');
    });
  });

  describe('Mermaid safety', () => {
    it('escapes quotes and the characters Mermaid reads inside labels', () => {
      expect(escapeLabel('say "hi" <b>#1; `code` a|b\nnext')).toBe(
        'say #quot;hi#quot; #lt;b#gt;#35;1; #96;code#96; a#124;b next',
      );
    });

    it('escapes user text in node and edge labels', () => {
      const text = flowToMermaid(
        flow(`  - id: pick
    type: branch
    if:
      - when: [{ field: profile.nickname, equals: 'the "best"' }]
        steps:
          - { id: gift, type: award_points, points: 5, reason: 'a "thank you" <3' }
`),
      );
      expect(text).toContain('  s_pick -->|"profile.nickname = the #quot;best#quot;"| s_gift');
      expect(text).toContain('  s_gift["gift: award 5 points (a #quot;thank you#quot; #lt;3)"]');
      structure(text);
    });

    it('keeps the flow name in a comment on one line', () => {
      const text = flowToMermaid(
        flowOf(
          'version: 1\nid: f\nname: "Two\\nlines"\ntrigger: { event: order.placed }\nsteps: [{ id: x, type: exit }]\n',
        ),
      );
      expect(text.split('\n')[1]).toBe('  %% f: Two lines');
    });

    it('derives safe, distinct node ids from step ids, away from keywords like end', () => {
      const text = flowToMermaid(
        flow(`  - { id: end, type: emit_event, event: a.b }
  - { id: a-b, type: emit_event, event: a.b }
  - { id: a_b, type: emit_event, event: a.b }
  - { id: flow_end, type: emit_event, event: a.b }
`),
      );
      const lines = text.split('\n');
      expect(lines).toContain('  s_end["end: emit a.b"]');
      expect(lines).toContain('  s_a_b["a-b: emit a.b"]');
      expect(lines).toContain('  s_a_b_2["a_b: emit a.b"]');
      expect(lines).toContain('  s_flow_end["flow_end: emit a.b"]');
      expect(lines).toContain('  s_end --> s_a_b');
      expect(lines).toContain('  s_a_b --> s_a_b_2');
      expect(lines).toContain('  s_a_b_2 --> s_flow_end');
      expect(lines).toContain('  s_flow_end --> flow_end');
      const { nodes } = structure(text);
      expect([...nodes].every((id) => id !== 'end' && /^(s|flow)_/.test(id))).toBe(true);
    });

    it('writes only comments, nodes and edges whose ends are declared', () => {
      structure(flowToMermaid(flowOf(RICH)));
    });
  });
});
