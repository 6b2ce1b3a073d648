import {
  type Condition,
  type Duration,
  type EventTrigger,
  type Flow,
  isWaitForEvent,
  type Step,
  type Trigger,
} from './flow-schema.ts';

// A flow as a Mermaid flowchart, for review (`rapport graph FLOW`): paste it into a Markdown file, a pull
// request or mermaid.live. Pure and deterministic: the same flow always gives the same text.
//
// The trigger is at the top, then the entry rules, then one node per step. Nested step lists (branch,
// split, wait for an event) rejoin at the step after their branching step, or at the End node when that
// step was the last; an `exit` step goes to the Exit node instead, and a holdout path to the Holdout node.

// ---- words ---------------------------------------------------------------------------------------------

const plural = (count: number, unit: string): string => `${count} ${unit}${count === 1 ? '' : 's'}`;

/** `7 days`, `2 hours 30 minutes`. */
export const describeDuration = (duration: Duration): string => {
  const parts = [
    duration.days ? plural(duration.days, 'day') : '',
    duration.hours ? plural(duration.hours, 'hour') : '',
    duration.minutes ? plural(duration.minutes, 'minute') : '',
  ].filter((part) => part !== '');
  return parts.length > 0 ? parts.join(' ') : '0 minutes';
};

const show = (value: unknown): string => {
  if (typeof value === 'string') return value === '' ? '""' : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value) ?? String(value);
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const NUMERIC_WORDS: Record<string, string> = { '=': '=', '<': '<', '<=': '≤', '>': '>', '>=': '≥' };

/** One operator object of an EventBridge match list, e.g. `{ numeric: ['>=', 100] }` → `≥ 100`. */
const describeOperator = (matcher: Record<string, unknown>): string => {
  const [operator = '', argument] = Object.entries(matcher)[0] ?? [];
  switch (operator) {
    case 'numeric': {
      if (!Array.isArray(argument)) break;
      const comparisons: string[] = [];
      for (let i = 0; i < argument.length; i += 2) {
        const symbol = NUMERIC_WORDS[String(argument[i])] ?? String(argument[i]);
        comparisons.push(`${symbol} ${show(argument[i + 1])}`);
      }
      return comparisons.join(' and ');
    }
    case 'prefix':
    case 'suffix': {
      const verb = operator === 'prefix' ? 'starts with' : 'ends with';
      if (isRecord(argument) && typeof argument['equals-ignore-case'] === 'string') {
        return `${verb} ${show(argument['equals-ignore-case'])} (any case)`;
      }
      return `${verb} ${show(argument)}`;
    }
    case 'equals-ignore-case':
      return `is ${show(argument)} (any case)`;
    case 'wildcard':
      return `matches ${show(argument)}`;
    case 'exists':
      return argument === false ? 'is missing' : 'exists';
    case 'cidr':
      return `is in ${show(argument)}`;
    case 'anything-but': {
      if (Array.isArray(argument)) return `is none of ${argument.map(show).join(', ')}`;
      if (!isRecord(argument)) return `is not ${show(argument)}`;
      const [inner = '', patterns] = Object.entries(argument)[0] ?? [];
      const list = Array.isArray(patterns) ? patterns.map(show).join(' or ') : show(patterns);
      const negated: Record<string, string> = {
        prefix: `does not start with ${list}`,
        suffix: `does not end with ${list}`,
        'equals-ignore-case': `is not ${list} (any case)`,
        wildcard: `does not match ${list}`,
      };
      return negated[inner] ?? `is not ${JSON.stringify(argument)}`;
    }
  }
  return JSON.stringify(matcher);
};

/** A match list: literals are alternatives (`is USD or EUR`), operators too. */
const describeMatchList = (field: string, list: readonly unknown[]): string => {
  const literals = list.filter((matcher) => !isRecord(matcher));
  const phrases = list.filter(isRecord).map(describeOperator);
  if (literals.length > 0) phrases.unshift(`is ${literals.map(show).join(' or ')}`);
  return `${field} ${phrases.join(' or ')}`;
};

/** An EventBridge-style filter in words: `total ≥ 100 and currency is USD`. */
export const describeWhere = (where: Record<string, unknown>, prefix = ''): string => {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (key === '$or' && Array.isArray(value)) {
      const alternatives = value.filter(isRecord).map((alternative) => describeWhere(alternative, prefix));
      parts.push(`(${alternatives.join(' or ')})`);
    } else if (Array.isArray(value)) {
      parts.push(describeMatchList(`${prefix}${key}`, value));
    } else if (isRecord(value)) {
      parts.push(describeWhere(value, `${prefix}${key}.`));
    } else {
      parts.push(`${prefix}${key} ${JSON.stringify(value)}`);
    }
  }
  return parts.join(' and ');
};

const withWhere = (event: string, where: Record<string, unknown> | undefined): string =>
  where && Object.keys(where).length > 0 ? `${event} where ${describeWhere(where)}` : event;

const describeEventTrigger = (trigger: EventTrigger): string => withWhere(trigger.event, trigger.where);

/** `order.placed where total ≥ 100`, `no order.placed for 113 days`, `birthday at 09:00`, ... */
export const describeTrigger = (trigger: Trigger): string => {
  if ('event' in trigger) return describeEventTrigger(trigger);
  if ('inactivity' in trigger) {
    return `no ${trigger.inactivity.event} for ${plural(trigger.inactivity.days, 'day')}`;
  }
  if ('date' in trigger) return `${trigger.date.field.replace(/_/g, ' ')} at ${trigger.date.at}`;
  const { every, at, weekday, day_of_month: dayOfMonth } = trigger.schedule;
  const on =
    weekday !== undefined ? ` on ${weekday}` : dayOfMonth !== undefined ? ` on day ${dayOfMonth}` : '';
  return `every ${every}${on} at ${at}`;
};

/** `profile.orderCount ≥ 2`, `tag vip`, `not tag churned`. */
export const describeCondition = (condition: Condition): string => {
  if ('tag' in condition) return `tag ${condition.tag}`;
  if ('not_tag' in condition) return `not tag ${condition.not_tag}`;
  const { field } = condition;
  if ('equals' in condition) return `${field} = ${show(condition.equals)}`;
  if ('not_equals' in condition) return `${field} ≠ ${show(condition.not_equals)}`;
  if ('gt' in condition) return `${field} > ${condition.gt}`;
  if ('gte' in condition) return `${field} ≥ ${condition.gte}`;
  if ('lt' in condition) return `${field} < ${condition.lt}`;
  if ('lte' in condition) return `${field} ≤ ${condition.lte}`;
  if ('exists' in condition) return condition.exists ? `${field} exists` : `${field} is missing`;
  return `${field} starts with ${show(condition.starts_with)}`;
};

const describeConditions = (conditions: readonly Condition[]): string =>
  conditions.map(describeCondition).join(' and ');

const describeEntry = (entry: Flow['entry']): string | undefined => {
  const parts: string[] = [];
  if (entry.when && entry.when.length > 0) parts.push(describeConditions(entry.when));
  if (entry.reentry === 'once') parts.push('once ever');
  else if (typeof entry.reentry === 'object')
    parts.push(`again after ${describeDuration(entry.reentry.after)}`);
  if (entry.cap !== undefined) parts.push(`at most ${entry.cap} at once`);
  return parts.length > 0 ? `entry: ${parts.join('; ')}` : undefined;
};

/** The short description of a step, after its id in the node's label. */
export const describeStep = (step: Step): string => {
  switch (step.type) {
    case 'award_points': {
      const what =
        step.award !== undefined ? `award ${step.award}` : `award ${plural(step.points ?? 0, 'point')}`;
      return step.reason ? `${what} (${step.reason})` : what;
    }
    case 'send_email':
      return `send_email ${step.template}${step.topic ? ` (topic ${step.topic})` : ''}`;
    case 'wait':
      if (isWaitForEvent(step)) {
        return `wait for ${withWhere(step.for_event.event, step.for_event.where)}, at most ${describeDuration(step.timeout)}`;
      }
      if ('duration' in step) return `wait ${describeDuration(step.duration)}`;
      return `wait until ${step.until.time}${step.until.weekdays ? ` on ${step.until.weekdays.join(', ')}` : ''}`;
    case 'branch':
      return 'branch';
    case 'split':
      return 'split';
    case 'update_profile': {
      const parts: string[] = [];
      if (step.set && Object.keys(step.set).length > 0) parts.push(`set ${Object.keys(step.set).join(', ')}`);
      if (step.add_tags && step.add_tags.length > 0) parts.push(`add tags ${step.add_tags.join(', ')}`);
      if (step.remove_tags && step.remove_tags.length > 0)
        parts.push(`remove tags ${step.remove_tags.join(', ')}`);
      return parts.length > 0 ? `update profile: ${parts.join(', ')}` : 'update profile';
    }
    case 'issue_coupon': {
      const { discount } = step;
      const off =
        'percent' in discount
          ? `${discount.percent}% off`
          : 'amount' in discount
            ? `${discount.amount} off`
            : 'free shipping';
      return `issue coupon ${off}, valid ${describeDuration(step.valid)}`;
    }
    case 'emit_event':
      return `emit ${step.event}`;
    case 'exit':
      return 'exit';
  }
};

// ---- Mermaid ---------------------------------------------------------------------------------------------

/**
 * Text for inside a double-quoted Mermaid label. Mermaid has no backslash escapes, only entity codes: `"`
 * would end the label, `<` and `>` could read as HTML, `#` starts an entity, `|` ends an edge label and a
 * backtick makes a Markdown string.
 */
export const escapeLabel = (text: string): string =>
  text
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/`/g, '#96;')
    .replace(/\|/g, '#124;')
    .replace(/\s*[\r\n]+\s*/g, ' ');

// Fixed nodes; step nodes are `s_<id>`, so they never collide with these nor with Mermaid keywords (`end`).
const TRIGGER = 'flow_trigger';
const ENTRY = 'flow_entry';
const NOTE = 'flow_note';
const END = 'flow_end';
const EXIT = 'flow_exit';
const HOLDOUT = 'flow_holdout';

type Shape = 'box' | 'rounded' | 'stadium' | 'rhombus' | 'hexagon' | 'parallelogram' | 'flag';

const shaped = (shape: Shape, label: string): string => {
  const quoted = `"${label}"`;
  switch (shape) {
    case 'box':
      return `[${quoted}]`;
    case 'rounded':
      return `(${quoted})`;
    case 'stadium':
      return `([${quoted}])`;
    case 'rhombus':
      return `{${quoted}}`;
    case 'hexagon':
      return `{{${quoted}}}`;
    case 'parallelogram':
      return `[/${quoted}/]`;
    case 'flag':
      return `>${quoted}]`;
  }
};

/** An edge still waiting for its target: the node it leaves and its label. */
interface Pending {
  from: string;
  label?: string;
}

const shapeOf = (step: Step): Shape => {
  switch (step.type) {
    case 'branch':
      return 'rhombus';
    case 'split':
      return 'hexagon';
    case 'wait':
      return isWaitForEvent(step) ? 'hexagon' : 'rounded';
    default:
      return 'box';
  }
};

class Chart {
  private readonly nodes: string[] = [];
  private readonly edges: string[] = [];
  private readonly ids = new Map<Step, string>();
  private readonly taken = new Set<string>([TRIGGER, ENTRY, NOTE, END, EXIT, HOLDOUT]);
  private readonly terminals = new Set<string>();

  node(id: string, shape: Shape, text: string): void {
    this.nodes.push(`  ${id}${shaped(shape, escapeLabel(text))}`);
  }

  edge(from: string, to: string, label?: string): void {
    this.edges.push(
      label === undefined ? `  ${from} --> ${to}` : `  ${from} -->|"${escapeLabel(label)}"| ${to}`,
    );
  }

  link(from: string, to: string): void {
    this.edges.push(`  ${from} -.- ${to}`);
  }

  connect(pending: readonly Pending[], to: string): void {
    for (const { from, label } of pending) this.edge(from, to, label);
  }

  /** An End, Exit or Holdout node, declared once, after the steps. */
  terminal(id: string): string {
    this.terminals.add(id);
    return id;
  }

  /** `s_` + the step id with `-` as `_`; a numbered suffix keeps `a-b` and `a_b` (or a repeated id) apart. */
  idOf(step: Step): string {
    const known = this.ids.get(step);
    if (known) return known;
    const base = `s_${step.id.replace(/[^A-Za-z0-9_]/g, '_')}`;
    let id = base;
    for (let n = 2; this.taken.has(id); n++) id = `${base}_${n}`;
    this.taken.add(id);
    this.ids.set(step, id);
    return id;
  }

  /** Draws `steps`, entered by `pending`; returns the edges left dangling at the end of the list. */
  steps(steps: readonly Step[], pending: readonly Pending[]): Pending[] {
    let open: Pending[] = [...pending];
    for (const step of steps) open = this.step(step, open);
    return open;
  }

  step(step: Step, pending: readonly Pending[]): Pending[] {
    const id = this.idOf(step);
    this.node(id, shapeOf(step), `${step.id}: ${describeStep(step)}`);
    this.connect(pending, id);
    switch (step.type) {
      case 'exit':
        this.edge(id, this.terminal(EXIT));
        return [];
      case 'branch':
        return [
          ...step.if.flatMap((choice) =>
            this.steps(choice.steps, [{ from: id, label: describeConditions(choice.when) }]),
          ),
          ...this.steps(step.else ?? [], [{ from: id, label: 'else' }]),
        ];
      case 'split':
        return step.paths.flatMap((path) => {
          const label = `${path.name} ${path.percent}%${path.holdout && path.name !== 'holdout' ? ' (holdout)' : ''}`;
          const ends = this.steps(path.steps ?? [], [{ from: id, label }]);
          if (!path.holdout) return ends;
          this.connect(ends, this.terminal(HOLDOUT));
          return [];
        });
      case 'wait':
        if (!isWaitForEvent(step)) return [{ from: id }];
        return [
          ...this.steps(step.on_event ?? [], [{ from: id, label: step.for_event.event }]),
          ...this.steps(step.on_timeout ?? [], [{ from: id, label: 'timeout' }]),
        ];
      default:
        return [{ from: id }];
    }
  }

  render(title: string): string {
    const terminals: [string, string][] = [
      [END, 'End'],
      [EXIT, 'Exit'],
      [HOLDOUT, 'Holdout'],
    ];
    for (const [id, text] of terminals) if (this.terminals.has(id)) this.node(id, 'stadium', text);
    return ['flowchart TD', `  %% ${title.replace(/[\r\n]+/g, ' ')}`, ...this.nodes, ...this.edges].join(
      '\n',
    );
  }
}

const describeNote = (flow: Flow): string[] => {
  const lines: string[] = [];
  if (flow.exit_on && flow.exit_on.length > 0) {
    lines.push(`exits on ${flow.exit_on.map(describeEventTrigger).join(' or ')}`);
  }
  if (flow.goal) {
    lines.push(
      `goal: ${withWhere(flow.goal.event, flow.goal.where)} within ${describeDuration(flow.goal.within)}`,
    );
  }
  return lines;
};

/** The flow as a Mermaid `flowchart TD`, one line per node and edge, without a trailing newline. */
export function flowToMermaid(flow: Flow): string {
  const chart = new Chart();
  chart.node(TRIGGER, 'stadium', describeTrigger(flow.trigger));
  let pending: Pending[] = [{ from: TRIGGER }];
  const entry = describeEntry(flow.entry);
  if (entry !== undefined) {
    chart.node(ENTRY, 'parallelogram', entry);
    chart.edge(TRIGGER, ENTRY);
    pending = [{ from: ENTRY }];
  }
  const note = describeNote(flow);
  if (note.length > 0) {
    chart.node(NOTE, 'flag', note.join('; '));
    chart.link(TRIGGER, NOTE);
  }
  const ends = chart.steps(flow.steps, pending);
  if (ends.length > 0) chart.connect(ends, chart.terminal(END));
  return chart.render(`${flow.id}: ${flow.name}`);
}
