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
// - `exists: false` holds when the path has no leaf consistent with the leaves the pattern's earlier fields
//   (in dotted-name order) matched; outside arrays, when it has no leaf at all. Every other matcher needs a
//   leaf, so `anything-but` never matches a missing field.
// - Case-insensitive operators, CIDR blocks and IP-address literals follow event-ruler's code (see below).
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

// Case-insensitive matching follows event-ruler's machine (EqualsIgnoreCaseParser), not a symmetric case
// fold: each UTF-16 unit of the *pattern* becomes the two strings Java's String.toLowerCase(Locale.ROOT) and
// toUpperCase(Locale.ROOT) give for it alone, and the event string must be a run of one of them per unit. So
// "ß" matches "ß" and "SS" but not "ss" or "ẞ"; "ı" matches "I" but "I" does not match "ı"; "σ" and "ς" do
// not match each other (both match "Σ"); the Kelvin sign matches "k" but "k" does not match it. Java writes a
// lone surrogate as "?" in UTF-8, so a pattern character outside the BMP only matches "??" (event-ruler's
// behaviour, kept). JavaScript's per-unit mappings equal Java 17's for all 65,536 units except 26 letters
// added to Unicode after version 13.
const caseVariants = (unit: string): readonly [string, string] => {
  if (/[\ud800-\udfff]/.test(unit)) return ['?', '?'];
  return [unit.toLowerCase(), unit.toUpperCase()];
};

/** The positions in `value` where a caseless run of `pattern` from the start of `value` can end. */
const caselessEnds = (pattern: string, value: string): Set<number> => {
  let positions = new Set([0]);
  for (let i = 0; i < pattern.length; i++) {
    const next = new Set<number>();
    for (const variant of caseVariants(pattern.charAt(i))) {
      for (const position of positions) {
        if (value.startsWith(variant, position)) next.add(position + variant.length);
      }
    }
    if (next.size === 0) return next;
    positions = next;
  }
  return positions;
};

/** The positions in `value` where a caseless run of `pattern` ending at `value.length` can start. */
const caselessStarts = (pattern: string, value: string): Set<number> => {
  let positions = new Set([value.length]);
  for (let i = pattern.length - 1; i >= 0; i--) {
    const next = new Set<number>();
    for (const variant of caseVariants(pattern.charAt(i))) {
      for (const position of positions) {
        const from = position - variant.length;
        if (from >= 0 && value.startsWith(variant, from)) next.add(from);
      }
    }
    if (next.size === 0) return next;
    positions = next;
  }
  return positions;
};

const equalsIgnoreCase = (expected: string, value: string): boolean =>
  caselessEnds(expected, value).has(value.length);

const startsWithIgnoreCase = (value: string, prefix: string): boolean => caselessEnds(prefix, value).size > 0;

const endsWithIgnoreCase = (value: string, suffix: string): boolean => caselessStarts(suffix, value).size > 0;

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
//
// event-ruler (CIDR.java) treats a string as an IP address only if it has the shape of its two regular
// expressions, then reads it with Java's InetAddress. We read the same strings the same way:
// - IPv4: four dot-separated runs of ASCII digits, at most 15 characters in all, each part at most 255;
//   leading zeros are decimal ("010.0.0.1" is 10.0.0.1).
// - IPv6: hex digits and colons only, so an embedded dotted quad ("::ffff:10.0.0.1") is not an address at
//   all. A group may have any number of leading zeros, "::" stands for at least one zero group, and an
//   IPv4-mapped address written in hex ("::ffff:a00:1") is the IPv4 address, as InetAddress returns it.
// An address is kept as event-ruler keeps it: 8 or 32 upper-case hex digits.

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*$/;
const IPV6_GROUP = /^0*[0-9A-Fa-f]{1,4}$/;

const hexOfBytes = (bytes: readonly number[]): string =>
  bytes
    .map((byte) => byte.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();

const parseIPv4 = (text: string): number[] | undefined => {
  if (text.length > 15 || !IPV4_SHAPE.test(text)) return undefined;
  const bytes = text.split('.').map(Number);
  return bytes.every((byte) => byte <= 255) ? bytes : undefined;
};

const parseIPv6 = (text: string): number[] | undefined => {
  if (!IPV6_SHAPE.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((group) => IPV6_GROUP.test(group))
      ? groups.map((group) => Number.parseInt(group, 16))
      : undefined;
  };
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
};

/** An IP address as 8 (IPv4) or 32 (IPv6) hex digits, or undefined when event-ruler would not read one. */
const ipHex = (text: string): string | undefined => {
  const v4 = parseIPv4(text);
  if (v4) return hexOfBytes(v4);
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 10).every((byte) => byte === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return hexOfBytes(mapped ? v6.slice(12) : v6);
};

/** An inclusive range of addresses, as hex digit strings of one length. */
interface IpRange {
  readonly bottom: string;
  readonly top: string;
}

/**
 * Parses a CIDR block, or returns the reason event-ruler (CIDR.cidr) refuses it. Its quirks are kept: the
 * text is split on "/" the way Java's String.split does, dropping trailing empty parts ("10.0.0.0/24/" is
 * accepted); the mask bits are read by Integer.parseInt (a sign and leading zeros are allowed); a full-length
 * mask (/32, /128) is refused, since one address is matched by writing it as a plain string.
 */
const parseCidr = (text: string): IpRange | string => {
  const parts = text.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length !== 2) return 'needs exactly one "/", as in 10.0.0.0/24';
  const [address = '', bitsText = ''] = parts;
  if (!/^[+-]?[0-9]+$/.test(bitsText)) return 'mask bits must be an integer';
  const bits = Number(bitsText);
  if (bits < 0) return 'mask bits must not be negative';
  const hex = ipHex(address);
  if (hex === undefined) return `${address} is not an IPv4 or IPv6 address`;
  const width = hex.length * 4;
  if (bits >= width) {
    return `mask bits must be below ${width} for an IPv${width === 32 ? 4 : 6} address`;
  }
  // Since event-ruler 1.2.2 (PR #89, 2023) host bits in the address are ignored: 10.0.0.1/24 is 10.0.0.0/24.
  let value = BigInt(`0x${hex}`);
  const hostMask = (1n << BigInt(width - bits)) - 1n;
  value &= ~hostMask;
  const digits = (n: bigint): string => n.toString(16).toUpperCase().padStart(hex.length, '0');
  return { bottom: digits(value), top: digits(value | hostMask) };
};

/**
 * Whether an address lies in a range, as event-ruler's byte machine decides it. The machine walks hex
 * digits, so an address of the other family is compared on the common length: an IPv6 address matches an
 * IPv4 block when its first 8 digits lie in the block ("a00::1" is in 10.0.0.0/8), and an IPv4 address
 * matches an IPv6 block when its 8 digits lie strictly between the block's first 8 digits. Checked against
 * event-ruler on 6,000 random pairs of blocks and addresses of both families, with no difference.
 */
const inIpRange = (range: IpRange, address: string): boolean => {
  const length = Math.min(address.length, range.bottom.length);
  const head = address.slice(0, length);
  const bottom = range.bottom.slice(0, length);
  const top = range.top.slice(0, length);
  return address.length >= range.bottom.length ? bottom <= head && head <= top : bottom < head && head < top;
};

const matchesCidr = (block: unknown, value: EventPatternScalar): boolean => {
  if (typeof block !== 'string' || typeof value !== 'string') return false;
  const range = parseCidr(block);
  const address = ipHex(value);
  return typeof range !== 'string' && address !== undefined && inIpRange(range, address);
};

/**
 * A string literal in a match list that reads as an IP address matches that address however it is written
 * (event-ruler's JsonRuleCompiler turns it into a one-address range), so "10.0.0.1" matches "010.0.0.1" and
 * "::ffff:a00:1", and "2001:db8::1" matches "2001:DB8:0:0:0:0:0:1". Other literals compare exactly.
 */
const matchesLiteral = (literal: EventPatternScalar, value: EventPatternScalar): boolean => {
  const address = typeof literal === 'string' ? ipHex(literal) : undefined;
  if (address === undefined) return literal === value;
  const other = typeof value === 'string' ? ipHex(value) : undefined;
  return other !== undefined && inIpRange({ bottom: address, top: address }, other);
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
  if (!isRecord(matcher)) return isScalar(matcher) && matchesLiteral(matcher, value);
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
  readonly path: string; // dotted, as event-ruler names the field
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
const expand = (
  pattern: Record<string, unknown>,
  node: PathNode,
  path: string,
  branches: Branch[],
): Branch[] => {
  let current = branches;
  for (const key of Object.keys(pattern)) {
    const value = pattern[key];
    if (key === OR && Array.isArray(value)) {
      const next: Branch[] = [];
      for (const alternative of value) {
        if (isRecord(alternative)) next.push(...expand(alternative, node, path, current));
      }
      current = next;
    } else if (Array.isArray(value)) {
      const child = childOf(node, key);
      child.terminal = true;
      const condition = { path: join(path, key), node: child, matchers: value };
      current = current.map((branch) => [...branch, condition]);
    } else if (isRecord(value)) {
      current = expand(value, childOf(node, key), join(path, key), current);
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

const byPath = (a: FieldCondition, b: FieldCondition): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/**
 * event-ruler's array-consistent search (ACFinder): the branch's fields are taken in the order of their
 * dotted names (Java's String order, which is JavaScript's), each value condition picks a leaf consistent
 * with the leaves picked before it, and `exists: false` holds when no leaf of its field is consistent with
 * the leaves picked *so far*. So `exists: false` inside an array of objects applies to the element chosen by
 * fields that sort before it, and to the whole array otherwise: {items: {sku: [{exists: false}], name: ["b"]}}
 * matches [{sku, name: "a"}, {name: "b"}] ("name" < "sku"), but with "aaa" in place of "sku" it does not.
 */
const branchMatches = (branch: Branch, leaves: Map<PathNode, Leaf[]>): boolean => {
  const conditions = [...branch].sort(byPath).map(({ node, matchers }) => {
    const present = leaves.get(node) ?? [];
    return {
      present,
      absenceAllowed: matchers.some(isExistsFalse),
      candidates: present.filter((leaf) => matchers.some((matcher) => matchesValue(matcher, leaf.value))),
    };
  });
  const chosen: Leaf[] = [];
  const fits = (leaf: Leaf): boolean => chosen.every((other) => consistent(other, leaf));
  const from = (index: number): boolean => {
    const condition = conditions[index];
    if (!condition) return true;
    if (condition.absenceAllowed && !condition.present.some(fits) && from(index + 1)) return true;
    for (const leaf of condition.candidates) {
      if (fits(leaf)) {
        chosen.push(leaf);
        if (from(index + 1)) return true;
        chosen.pop();
      }
    }
    return false;
  };
  return from(0);
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
    const branches = expand(pattern, root, '', [[]]);
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
