// Amazon EventBridge event-pattern matching, pure and dependency-free.
//
// Semantics follow the EventBridge user guide ("Amazon EventBridge event patterns", "Content filtering in
// Amazon EventBridge event patterns", "Arrays in Amazon EventBridge event patterns") and, where the guide is
// silent, aws/event-ruler, the open-source engine EventBridge runs on:
//
// - Every field of the pattern must match (AND); the values in a match list are alternatives (OR); event
//   fields the pattern does not name are ignored.
// - The event is read as its leaves: strings, numbers, booleans and null. Objects and arrays are not leaves,
//   so `exists: true` does not match a field holding an object, and `exists: false` does. Arrays are sets:
//   a field matches if any element matches, and an empty array has no leaves at all.
// - Objects inside arrays are matched "array-consistently": two fields of one pattern are never satisfied by
//   objects in different elements of the same array (event-ruler's rulesForJSONEvent).
// - `exists: false` holds when the path has no leaf anywhere in the event. Every other matcher needs a leaf,
//   so `anything-but` never matches a missing field.
// - `$or` takes two or more sub-patterns at any object level; each is merged with its sibling fields.

/** A leaf value in an event, or a literal in a match list. */
export type EventPatternScalar = string | number | boolean | null;

/** An operator object in a match list, such as `{ prefix: 'us-' }` or `{ numeric: ['>', 0] }`. */
export type EventPatternOperator = { readonly [operator: string]: unknown };

/** One entry of a match list. */
export type EventPatternMatchValue = EventPatternScalar | EventPatternOperator;

/** An EventBridge event pattern: nested objects whose leaves are match lists, plus `$or` lists of patterns. */
export interface EventPattern {
  readonly [field: string]: EventPattern | readonly EventPatternMatchValue[] | readonly EventPattern[];
}

const OR = '$or';

const OPERATORS = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
] as const;

const ANYTHING_BUT_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'] as const;

const NUMERIC_OPERATORS = ['=', '<', '<=', '>', '>='] as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isScalar = (value: unknown): value is EventPatternScalar =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

const includes = <T extends string>(list: readonly T[], value: unknown): value is T =>
  typeof value === 'string' && (list as readonly string[]).includes(value);

/** The only key of a one-key object, or undefined. */
const soleKey = (value: Record<string, unknown>): string | undefined => {
  const keys = Object.keys(value);
  return keys.length === 1 ? keys[0] : undefined;
};

// ---------------------------------------------------------------------------------------------------------
// String operators

const lower = (value: string): string => value.toLowerCase();

const equalsIgnoreCase = (expected: string, value: string): boolean => lower(expected) === lower(value);

const startsWithIgnoreCase = (value: string, prefix: string): boolean =>
  lower(value).startsWith(lower(prefix));

const endsWithIgnoreCase = (value: string, suffix: string): boolean => lower(value).endsWith(lower(suffix));

/**
 * Splits a wildcard expression into the literal runs between its unescaped `*`s. `\*` is a literal star and
 * `\\` a literal backslash; other backslashes are kept literally (validation reports them).
 */
const wildcardSegments = (expression: string): string[] => {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < expression.length; i++) {
    const char = expression[i];
    const next = expression[i + 1];
    if (char === '\\' && (next === '*' || next === '\\')) {
      current += next;
      i++;
    } else if (char === '*') {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  return segments;
};

/** True when `value` matches the wildcard expression; each `*` matches any run of characters, even none. */
const matchesWildcard = (expression: string, value: string): boolean => {
  const segments = wildcardSegments(expression);
  const first = segments[0] ?? '';
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1] ?? '';
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) {
    return false;
  }
  // Greedy leftmost placement of the middle runs is optimal for `*`-only globs.
  let position = first.length;
  const end = value.length - last.length;
  for (const segment of segments.slice(1, -1)) {
    const found = value.indexOf(segment, position);
    if (found === -1 || found + segment.length > end) return false;
    position = found + segment.length;
  }
  return true;
};

/** The first problem with a wildcard expression, as event-ruler reports it, or undefined. */
const wildcardProblem = (expression: string): string | undefined => {
  for (let i = 0; i < expression.length; i++) {
    const char = expression[i];
    if (char === '*' && expression[i + 1] === '*') {
      return `wildcard has consecutive "*" characters at position ${i}`;
    }
    if (char === '\\') {
      const next = expression[i + 1];
      if (next !== '*' && next !== '\\') {
        return `wildcard has an invalid escape at position ${i} (only \\* and \\\\ are allowed)`;
      }
      i++;
    }
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------------------
// IP addresses and CIDR blocks

const parseIPv4 = (text: string): number[] | undefined => {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const bytes = match.slice(1).map(Number);
  return bytes.every((byte) => byte <= 255) ? bytes : undefined;
};

const parseIPv6 = (text: string): number[] | undefined => {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const words: number[] = [];
    const pieces = part.split(':');
    for (const [index, piece] of pieces.entries()) {
      if (piece.includes('.')) {
        // An embedded IPv4 address may only end the address.
        const v4 = index === pieces.length - 1 ? parseIPv4(piece) : undefined;
        if (!v4) return undefined;
        words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) {
        words.push(Number.parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return words;
  };
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 address is only allowed in the last half.
  if (halves.length === 2 && (halves[0] ?? '').includes('.')) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
};

/**
 * Parses an IPv4 or IPv6 address literal into 4 or 16 bytes. Like Java's InetAddress, which event-ruler
 * uses, an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is read as the IPv4 address.
 */
const parseIp = (text: string): number[] | undefined => {
  const v4 = parseIPv4(text);
  if (v4) return v4;
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 10).every((byte) => byte === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
};

interface CidrRange {
  readonly bottom: readonly number[];
  readonly top: readonly number[];
}

/** Parses a CIDR block, or returns the reason it is not one (event-ruler's rules). */
const parseCidr = (text: string): CidrRange | string => {
  const parts = text.split('/');
  if (parts.length !== 2) return 'needs exactly one "/", as in 10.0.0.0/24';
  const [address = '', bitsText = ''] = parts;
  if (!/^\d{1,3}$/.test(bitsText)) return 'mask bits must be a non-negative integer';
  const bits = Number(bitsText);
  const bottom = parseIp(address);
  if (!bottom) return `${address} is not an IPv4 or IPv6 address`;
  const width = bottom.length * 8;
  // event-ruler rejects full-length masks (/32, /128): match one address with an exact string instead.
  if (bits >= width)
    return `mask bits must be below ${width} for an IPv${bottom.length === 4 ? 4 : 6} address`;
  // event-ruler keeps the address as written and sets the host bits for the top of the range.
  const top = bottom.map((byte, index) => {
    const hostBits = Math.min(8, Math.max(0, width - bits - (bottom.length - 1 - index) * 8));
    return byte | ((1 << hostBits) - 1);
  });
  return { bottom, top };
};

const compareBytes = (a: readonly number[], b: readonly number[]): number => {
  for (let i = 0; i < a.length; i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
};

const matchesCidr = (block: unknown, value: EventPatternScalar): boolean => {
  if (typeof block !== 'string' || typeof value !== 'string') return false;
  const range = parseCidr(block);
  const ip = parseIp(value);
  if (typeof range === 'string' || !ip || ip.length !== range.bottom.length) return false;
  return compareBytes(ip, range.bottom) >= 0 && compareBytes(ip, range.top) <= 0;
};

// ---------------------------------------------------------------------------------------------------------
// Numeric, prefix/suffix and anything-but operators

const compare = (operator: unknown, value: number, operand: unknown): boolean => {
  if (typeof operand !== 'number') return false;
  switch (operator) {
    case '=':
      return value === operand;
    case '<':
      return value < operand;
    case '<=':
      return value <= operand;
    case '>':
      return value > operand;
    case '>=':
      return value >= operand;
    default:
      return false;
  }
};

/** Only JSON numbers match `numeric`: a string that looks like a number does not. */
const matchesNumeric = (comparisons: unknown, value: EventPatternScalar): boolean => {
  if (typeof value !== 'number' || !Array.isArray(comparisons) || comparisons.length === 0) return false;
  if (comparisons.length % 2 !== 0) return false;
  for (let i = 0; i < comparisons.length; i += 2) {
    if (!compare(comparisons[i], value, comparisons[i + 1])) return false;
  }
  return true;
};

/** `prefix` and `suffix` take a string, or `{ "equals-ignore-case": string }`; only strings match. */
const matchesAffix = (argument: unknown, value: EventPatternScalar, at: 'start' | 'end'): boolean => {
  if (typeof value !== 'string') return false;
  if (typeof argument === 'string')
    return at === 'start' ? value.startsWith(argument) : value.endsWith(argument);
  if (isRecord(argument) && soleKey(argument) === 'equals-ignore-case') {
    const affix = argument['equals-ignore-case'];
    if (typeof affix !== 'string') return false;
    return at === 'start' ? startsWithIgnoreCase(value, affix) : endsWithIgnoreCase(value, affix);
  }
  return false;
};

const stringTests: Record<
  (typeof ANYTHING_BUT_OPERATORS)[number],
  (pattern: string, value: string) => boolean
> = {
  prefix: (pattern, value) => value.startsWith(pattern),
  suffix: (pattern, value) => value.endsWith(pattern),
  'equals-ignore-case': equalsIgnoreCase,
  wildcard: matchesWildcard,
};

/**
 * `anything-but` matches any leaf (of any type, null included) except the ones it names. With a nested
 * prefix, suffix, equals-ignore-case or wildcard it excludes the strings that operator matches, so numbers,
 * booleans and null still match.
 */
const matchesAnythingBut = (argument: unknown, value: EventPatternScalar): boolean => {
  if (typeof argument === 'string' || typeof argument === 'number') return value !== argument;
  if (Array.isArray(argument)) return !argument.includes(value);
  if (!isRecord(argument)) return false;
  const operator = soleKey(argument);
  if (!includes(ANYTHING_BUT_OPERATORS, operator)) return false;
  const inner = argument[operator];
  const patterns = typeof inner === 'string' ? [inner] : isStringList(inner) ? inner : undefined;
  if (!patterns) return false;
  const test = stringTests[operator];
  return !(typeof value === 'string' && patterns.some((pattern) => test(pattern, value)));
};

/** Whether one entry of a match list accepts one leaf of the event. */
const matchesValue = (matcher: unknown, value: EventPatternScalar): boolean => {
  // Literals compare as JSON values of the same type: "300" is not 300, and null is only null.
  if (!isRecord(matcher)) return isScalar(matcher) && matcher === value;
  const operator = soleKey(matcher);
  if (operator === undefined) return false;
  const argument = matcher[operator];
  switch (operator) {
    case 'prefix':
      return matchesAffix(argument, value, 'start');
    case 'suffix':
      return matchesAffix(argument, value, 'end');
    case 'equals-ignore-case':
      return typeof argument === 'string' && typeof value === 'string' && equalsIgnoreCase(argument, value);
    case 'wildcard':
      return typeof argument === 'string' && typeof value === 'string' && matchesWildcard(argument, value);
    case 'anything-but':
      return matchesAnythingBut(argument, value);
    case 'numeric':
      return matchesNumeric(argument, value);
    case 'exists':
      // Any leaf, null included, exists. `exists: false` is decided by the absence of leaves instead.
      return argument === true;
    case 'cidr':
      return matchesCidr(argument, value);
    default:
      return false;
  }
};

const isExistsFalse = (matcher: unknown): boolean =>
  isRecord(matcher) && soleKey(matcher) === 'exists' && matcher.exists === false;

// ---------------------------------------------------------------------------------------------------------
// Matching

/** A node of the tree of field paths the pattern names; terminal nodes carry match lists. */
interface PathNode {
  readonly children: Map<string, PathNode>;
  terminal: boolean;
}

/** One field condition: the path it reads and the match list it applies. */
interface FieldCondition {
  readonly node: PathNode;
  readonly matchers: readonly unknown[];
}

/** A conjunction of field conditions; a pattern is the disjunction of its branches (one per `$or` choice). */
type Branch = readonly FieldCondition[];

/** Where a leaf sits inside arrays: for each enclosing array, its identity and the element index. */
interface ArrayStep {
  readonly array: number;
  readonly index: number;
}

interface Leaf {
  readonly value: EventPatternScalar;
  readonly trail: readonly ArrayStep[];
}

const newNode = (): PathNode => ({ children: new Map(), terminal: false });

const childOf = (node: PathNode, key: string): PathNode => {
  let child = node.children.get(key);
  if (!child) {
    child = newNode();
    node.children.set(key, child);
  }
  return child;
};

/** Expands `$or` into branches and records every field path in the tree under `node`. */
const expand = (pattern: Record<string, unknown>, node: PathNode, branches: Branch[]): Branch[] => {
  let current = branches;
  for (const key of Object.keys(pattern)) {
    const value = pattern[key];
    if (key === OR && Array.isArray(value)) {
      const next: Branch[] = [];
      for (const alternative of value) {
        if (isRecord(alternative)) next.push(...expand(alternative, node, current));
      }
      current = next;
    } else if (Array.isArray(value)) {
      const child = childOf(node, key);
      child.terminal = true;
      current = current.map((branch) => [...branch, { node: child, matchers: value }]);
    } else if (isRecord(value)) {
      current = expand(value, childOf(node, key), current);
    } else {
      return []; // not a valid pattern: it matches nothing
    }
  }
  return current;
};

interface CollectContext {
  readonly leaves: Map<PathNode, Leaf[]>;
  readonly open: Set<object>; // objects and arrays on the current path, to survive cyclic input
  nextArray: number;
}

/** Gathers the event's leaves at the pattern's terminal paths, reading only the parts the pattern names. */
const collect = (
  value: unknown,
  node: PathNode,
  trail: readonly ArrayStep[],
  context: CollectContext,
): void => {
  if (typeof value === 'object' && value !== null) {
    if (context.open.has(value)) return;
    context.open.add(value);
    if (Array.isArray(value)) {
      const array = context.nextArray++;
      value.forEach((element, index) => {
        collect(element, node, [...trail, { array, index }], context);
      });
    } else {
      const record = value as Record<string, unknown>;
      for (const [key, child] of node.children) {
        if (Object.hasOwn(record, key)) collect(record[key], child, trail, context);
      }
    }
    context.open.delete(value);
  } else if (node.terminal && isScalar(value)) {
    const list = context.leaves.get(node);
    const leaf = { value, trail };
    if (list) list.push(leaf);
    else context.leaves.set(node, [leaf]);
  }
};

/** Two leaves may serve one branch unless they sit in different elements of the same array. */
const consistent = (a: Leaf, b: Leaf): boolean => {
  const depth = Math.min(a.trail.length, b.trail.length);
  for (let i = 0; i < depth; i++) {
    const stepA = a.trail[i];
    const stepB = b.trail[i];
    if (!stepA || !stepB || stepA.array !== stepB.array) return true; // the paths have parted
    if (stepA.index !== stepB.index) return false;
  }
  return true;
};

const choose = (options: readonly (readonly Leaf[])[], chosen: Leaf[]): boolean => {
  const candidates = options[chosen.length];
  if (!candidates) return true;
  for (const leaf of candidates) {
    if (chosen.every((other) => consistent(other, leaf))) {
      chosen.push(leaf);
      if (choose(options, chosen)) return true;
      chosen.pop();
    }
  }
  return false;
};

const branchMatches = (branch: Branch, leaves: Map<PathNode, Leaf[]>): boolean => {
  const options: Leaf[][] = [];
  for (const { node, matchers } of branch) {
    const present = leaves.get(node) ?? [];
    if (present.length === 0 && matchers.some(isExistsFalse)) continue; // satisfied by absence
    const candidates = present.filter((leaf) =>
      matchers.some((matcher) => matchesValue(matcher, leaf.value)),
    );
    if (candidates.length === 0) return false;
    options.push(candidates);
  }
  options.sort((a, b) => a.length - b.length);
  return choose(options, []);
};

/**
 * Whether `event` matches `pattern` under EventBridge semantics. Validate the pattern first with
 * validateEventPattern; an invalid pattern never throws here and simply gives an unspecified result.
 * Never throws, whatever the shape of the event.
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (!isRecord(pattern)) return false;
  try {
    const root = newNode();
    const branches = expand(pattern, root, [[]]);
    if (branches.length === 0) return false;
    const context: CollectContext = { leaves: new Map(), open: new Set(), nextArray: 0 };
    collect(event, root, [], context);
    return branches.some((branch) => branchMatches(branch, context.leaves));
  } catch {
    // Only exotic inputs (throwing getters, proxies) can get here; they match nothing.
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Validation

const show = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return 'undefined';
  return Array.isArray(value) ? 'an array' : 'an object';
};

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

const at = (path: string): string => (path === '' ? '(pattern)' : path);

const ANYTHING_BUT_SHAPE =
  'anything-but needs a string, a number, a list of only strings or only numbers, ' +
  'or an object with one of prefix, suffix, equals-ignore-case, wildcard';

/** The problem with a `numeric` argument, or undefined. */
const numericProblem = (argument: unknown): string | undefined => {
  if (!Array.isArray(argument)) return 'numeric needs an array such as [">", 0, "<=", 5]';
  const pairs: [unknown, unknown][] = [];
  for (let i = 0; i < argument.length; i += 2) pairs.push([argument[i], argument[i + 1]]);
  const wellFormed =
    argument.length > 0 &&
    argument.length % 2 === 0 &&
    pairs.every(([operator, operand]) => typeof operator === 'string' && Number.isFinite(operand));
  if (!wellFormed) return 'numeric needs pairs of operator and number';
  const unknownOperator = pairs.map(([operator]) => operator).find((op) => !includes(NUMERIC_OPERATORS, op));
  if (unknownOperator !== undefined) {
    return `numeric operator ${show(unknownOperator)} is not one of ${NUMERIC_OPERATORS.join(', ')}`;
  }
  if (pairs.length === 1) return undefined;
  const [[first, bottom], [second, top]] = pairs as [[string, number], [string, number]];
  if (pairs.length > 2 || (first !== '>' && first !== '>=') || (second !== '<' && second !== '<=')) {
    return 'numeric takes one comparison, or a lower bound (> or >=) followed by an upper bound (< or <=)';
  }
  return bottom < top ? undefined : 'numeric lower bound must be less than the upper bound';
};

/** The problem with an `anything-but` argument, or undefined. */
const anythingButProblem = (argument: unknown): string | undefined => {
  if (typeof argument === 'string') return undefined;
  if (typeof argument === 'number') {
    return Number.isFinite(argument) ? undefined : 'anything-but numbers must be finite';
  }
  if (Array.isArray(argument)) {
    if (argument.length === 0) return 'anything-but list must not be empty';
    const allStrings = argument.every((item) => typeof item === 'string');
    const allNumbers = argument.every((item) => typeof item === 'number' && Number.isFinite(item));
    return allStrings || allNumbers
      ? undefined
      : 'anything-but list must contain only strings or only numbers';
  }
  const operator = isRecord(argument) ? soleKey(argument) : undefined;
  if (!isRecord(argument) || operator === undefined) return ANYTHING_BUT_SHAPE;
  if (!includes(ANYTHING_BUT_OPERATORS, operator)) {
    return `anything-but does not support ${show(operator)}; use prefix, suffix, equals-ignore-case or wildcard`;
  }
  const inner = argument[operator];
  const patterns = typeof inner === 'string' ? [inner] : isStringList(inner) ? inner : undefined;
  if (!patterns) return `anything-but ${operator} needs a string or a list of strings`;
  if (patterns.length === 0) return `anything-but ${operator} list must not be empty`;
  if ((operator === 'prefix' || operator === 'suffix') && patterns.includes('')) {
    return `anything-but ${operator} must not be an empty string`;
  }
  if (operator !== 'wildcard') return undefined;
  const problem = patterns.map(wildcardProblem).find((found) => found !== undefined);
  return problem === undefined ? undefined : `anything-but ${problem}`;
};

/** The problem with `prefix` or `suffix`, or undefined. */
const affixProblem = (operator: 'prefix' | 'suffix', argument: unknown): string | undefined => {
  if (typeof argument === 'string') return undefined;
  if (isRecord(argument) && soleKey(argument) === 'equals-ignore-case') {
    if (typeof argument['equals-ignore-case'] === 'string') return undefined;
  }
  return `${operator} needs a string or {"equals-ignore-case": string}`;
};

/** The problem with an operator object in a match list, or undefined. */
const operatorProblem = (matcher: Record<string, unknown>): string | undefined => {
  const keys = Object.keys(matcher);
  if (keys.length !== 1) return `an operator object needs exactly one key, got ${keys.length}`;
  const operator = keys[0] ?? '';
  const argument = matcher[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return affixProblem(operator, argument);
    case 'equals-ignore-case':
      return typeof argument === 'string' ? undefined : 'equals-ignore-case needs a string';
    case 'wildcard':
      return typeof argument === 'string' ? wildcardProblem(argument) : 'wildcard needs a string';
    case 'anything-but':
      return anythingButProblem(argument);
    case 'numeric':
      return numericProblem(argument);
    case 'exists':
      return typeof argument === 'boolean' ? undefined : 'exists needs true or false';
    case 'cidr': {
      if (typeof argument !== 'string') return 'cidr needs a string such as "10.0.0.0/24"';
      const range = parseCidr(argument);
      return typeof range === 'string' ? `cidr ${show(argument)} is not valid: ${range}` : undefined;
    }
    default:
      return `unknown operator ${show(operator)}; expected one of ${OPERATORS.join(', ')}`;
  }
};

/** The problem with one entry of a match list, or undefined. */
const matchValueProblem = (matcher: unknown): string | undefined => {
  if (isRecord(matcher)) return operatorProblem(matcher);
  if (typeof matcher === 'number' && !Number.isFinite(matcher)) return 'numbers must be finite';
  return isScalar(matcher)
    ? undefined
    : 'match values must be strings, numbers, booleans, null or operator objects';
};

const validateMatchList = (list: readonly unknown[], path: string, errors: string[]): void => {
  if (list.length === 0) {
    errors.push(`${path}: match list must not be empty`);
    return;
  }
  for (const matcher of list) {
    const problem = matchValueProblem(matcher);
    if (problem !== undefined) errors.push(`${path}: ${problem}`);
  }
};

const validateObject = (
  pattern: Record<string, unknown>,
  path: string,
  insideOr: boolean,
  errors: string[],
): void => {
  const keys = Object.keys(pattern);
  if (keys.length === 0) {
    errors.push(`${at(path)}: must not be an empty object`);
    return;
  }
  for (const key of keys) {
    const value = pattern[key];
    const fieldPath = join(path, key);
    if (key === OR) {
      if (!Array.isArray(value) || value.length < 2) {
        errors.push(`${fieldPath}: must be an array of at least two pattern objects`);
        continue;
      }
      value.forEach((alternative, index) => {
        const alternativePath = `${fieldPath}[${index}]`;
        if (isRecord(alternative)) validateObject(alternative, alternativePath, true, errors);
        else errors.push(`${alternativePath}: must be a pattern object`);
      });
      continue;
    }
    if (insideOr && includes(OPERATORS, key)) {
      errors.push(`${fieldPath}: ${show(key)} is an operator name and cannot be a field name inside $or`);
      continue;
    }
    if (Array.isArray(value)) validateMatchList(value, fieldPath, errors);
    else if (isRecord(value)) validateObject(value, fieldPath, insideOr, errors);
    else {
      const hint = includes(OPERATORS, key) ? ` (operators go inside a match list: [{"${key}": ...}])` : '';
      errors.push(
        `${fieldPath}: must be an array of match values or a nested object, got ${show(value)}${hint}`,
      );
    }
  }
};

/**
 * Checks a pattern against EventBridge's rules and returns human-readable errors, each starting with the
 * dotted path of the offending field (`(pattern)` for the whole pattern). An empty array means valid.
 */
export function validateEventPattern(pattern: unknown): string[] {
  if (!isRecord(pattern)) return [`(pattern): must be a JSON object, got ${show(pattern)}`];
  const errors: string[] = [];
  validateObject(pattern, '', false, errors);
  return errors;
}
