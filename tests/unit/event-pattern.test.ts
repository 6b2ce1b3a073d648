import { describe, expect, it } from 'vitest';
import type { EventPattern } from '../../domain/event-pattern.ts';
import { matchesEventPattern, validateEventPattern } from '../../domain/event-pattern.ts';

interface Case {
  readonly name: string;
  readonly pattern: unknown;
  readonly event: unknown;
  readonly expected: boolean;
}

const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

const run = (cases: readonly Case[]): void => {
  it.each(cases)('$name', ({ pattern, event, expected }) => {
    expect(validateEventPattern(pattern)).toEqual([]);
    expect(matchesEventPattern(pattern, event)).toBe(expected);
  });
};

describe('matchesEventPattern', () => {
  describe('fields, values and nesting', () => {
    run([
      {
        name: 'matches when every field of the pattern matches, including a nested one',
        pattern: {
          source: ['aws.ec2'],
          'detail-type': ['EC2 Instance State-change Notification'],
          detail: { state: ['terminated'] },
        },
        event: ec2Event,
        expected: true,
      },
      {
        name: 'does not match when one of the fields differs',
        pattern: { source: ['aws.ec2'], detail: { state: ['running'] } },
        event: ec2Event,
        expected: false,
      },
      {
        name: 'matches when the value is any one of the values in the match list',
        pattern: { source: ['aws.fargate', 'aws.ec2'] },
        event: ec2Event,
        expected: true,
      },
      {
        name: 'does not match when a field of the pattern is missing from the event',
        pattern: { detail: { 'risk-score': [80] } },
        event: ec2Event,
        expected: false,
      },
      {
        name: 'matches exact numbers and booleans as JSON values',
        pattern: { detail: { 'risk-score': [80], trigger: { risk: [8], active: [true] } } },
        event: { detail: { 'risk-score': 80, trigger: { risk: 8, active: true } } },
        expected: true,
      },
      {
        name: 'does not match a string that looks like the number in the pattern',
        pattern: { detail: { count: [300] } },
        event: { detail: { count: '300' } },
        expected: false,
      },
      {
        name: 'does not match the boolean true against the string "true"',
        pattern: { detail: { flag: ['true'] } },
        event: { detail: { flag: true } },
        expected: false,
      },
      {
        name: 'matches 300.0 in the event JSON against 300 because both parse to the same number',
        pattern: { detail: { count: [300] } },
        event: JSON.parse('{"detail":{"count":300.0}}'),
        expected: true,
      },
      {
        name: 'matches strings case-sensitively without any normalisation',
        pattern: { source: ['AWS.EC2'] },
        event: ec2Event,
        expected: false,
      },
      {
        name: 'does not match a nested pattern against a field that holds a JSON string',
        pattern: { detail: { 'my-key': ['my-value'] } },
        event: { detail: '{"my-key": "my-value"}' },
        expected: false,
      },
      {
        name: 'does not match a match list against a field that holds an object',
        pattern: { detail: ['terminated'] },
        event: ec2Event,
        expected: false,
      },
    ]);
  });

  describe('null and empty strings', () => {
    run([
      {
        name: 'matches null against a field whose value is null',
        pattern: { detail: { responseElements: [null] } },
        event: { detail: { responseElements: null } },
        expected: true,
      },
      {
        name: 'does not match null against a missing field',
        pattern: { detail: { responseElements: [null] } },
        event: { detail: {} },
        expected: false,
      },
      {
        name: 'does not match null against an empty string',
        pattern: { detail: { eventVersion: [null] } },
        event: { detail: { eventVersion: '' } },
        expected: false,
      },
      {
        name: 'matches an empty string but not null with [""]',
        pattern: { detail: { eventVersion: [''] } },
        event: { detail: { eventVersion: null } },
        expected: false,
      },
    ]);
  });

  describe('arrays in events', () => {
    run([
      {
        name: 'matches when any element of an event array matches',
        pattern: {
          resources: [
            'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
            'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
          ],
        },
        event: {
          resources: [
            'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x',
            'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          ],
        },
        expected: true,
      },
      {
        name: 'does not match when no element of an event array matches',
        pattern: { detail: { tags: ['Insider'] } },
        event: { detail: { tags: ['Custom_Alert', 'Outsider'] } },
        expected: false,
      },
      {
        name: 'does not match null against an empty array',
        pattern: { resources: [null] },
        event: { resources: [] },
        expected: false,
      },
      {
        name: 'matches a field of an object inside an event array',
        pattern: { employees: { firstName: ['Anna'] } },
        event: { employees: [{ firstName: 'John' }, { firstName: 'Anna', lastName: 'Smith' }] },
        expected: true,
      },
      {
        name: 'matches two fields only when they come from the same array element',
        pattern: { employees: { firstName: ['Anna'], lastName: ['Smith'] } },
        event: {
          employees: [
            { firstName: 'John', lastName: 'Doe' },
            { firstName: 'Anna', lastName: 'Smith' },
          ],
        },
        expected: true,
      },
      {
        name: 'does not combine fields taken from different elements of the same array',
        pattern: { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
        event: {
          employees: [
            { firstName: 'Anna', lastName: 'Smith' },
            { firstName: 'Peter', lastName: 'Jones' },
          ],
        },
        expected: false,
      },
      {
        name: 'matches through arrays nested in arrays',
        pattern: { employees: { firstName: ['Peter'] } },
        event: { employees: [[{ firstName: 'John' }], [{ firstName: 'Peter' }]] },
        expected: true,
      },
    ]);
  });

  describe('prefix, suffix and equals-ignore-case', () => {
    run([
      {
        name: 'matches a prefix on a nested field',
        pattern: { detail: { 'instance-id': [{ prefix: 'i-1234' }] } },
        event: ec2Event,
        expected: true,
      },
      {
        name: 'does not match a prefix against a number',
        pattern: { detail: { year: [{ prefix: '20' }] } },
        event: { detail: { year: 2017 } },
        expected: false,
      },
      {
        name: 'matches a prefix regardless of case with equals-ignore-case',
        pattern: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] },
        event: { service: 'EventBridge' },
        expected: true,
      },
      {
        name: 'matches a suffix',
        pattern: { FileName: [{ suffix: '.png' }] },
        event: { FileName: 'photos/cat.png' },
        expected: true,
      },
      {
        name: 'matches a suffix case-sensitively',
        pattern: { FileName: [{ suffix: '.png' }] },
        event: { FileName: 'photos/cat.PNG' },
        expected: false,
      },
      {
        name: 'matches a suffix regardless of case with equals-ignore-case',
        pattern: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] },
        event: { service: 'EVENTBRIDGE' },
        expected: true,
      },
      {
        name: 'matches equals-ignore-case on a differently cased string',
        pattern: { detail: { name: [{ 'equals-ignore-case': 'alice' }] } },
        event: { detail: { name: 'ALICE' } },
        expected: true,
      },
      {
        name: 'does not match equals-ignore-case against a number',
        pattern: { detail: { code: [{ 'equals-ignore-case': '404' }] } },
        event: { detail: { code: 404 } },
        expected: false,
      },
      {
        name: 'does not match equals-ignore-case on a different string',
        pattern: { detail: { name: [{ 'equals-ignore-case': 'alice' }] } },
        event: { detail: { name: 'alicia' } },
        expected: false,
      },
    ]);
  });

  describe('wildcard', () => {
    run([
      {
        name: 'matches a leading wildcard',
        pattern: { FileName: [{ wildcard: '*.png' }] },
        event: { FileName: 'dir/cat.png' },
        expected: true,
      },
      {
        name: 'matches wildcards in the middle of a path',
        pattern: { FilePath: [{ wildcard: 'dir/*/*.png' }] },
        event: { FilePath: 'dir/a/b/cat.png' },
        expected: true,
      },
      {
        name: 'lets a wildcard match an empty run of characters',
        pattern: { FilePath: [{ wildcard: 'dir/*cat.png' }] },
        event: { FilePath: 'dir/cat.png' },
        expected: true,
      },
      {
        name: 'does not match when the literal parts are out of order',
        pattern: { FilePath: [{ wildcard: '*b*a*' }] },
        event: { FilePath: 'xaxbx' },
        expected: false,
      },
      {
        name: 'treats an escaped star as a literal star',
        pattern: { title: [{ wildcard: String.raw`a\*b` }] },
        event: { title: 'a*b' },
        expected: true,
      },
      {
        name: 'does not let an escaped star match other characters',
        pattern: { title: [{ wildcard: String.raw`a\*b` }] },
        event: { title: 'axb' },
        expected: false,
      },
      {
        name: 'treats an escaped backslash as a literal backslash',
        pattern: { path: [{ wildcard: String.raw`C:\\*` }] },
        event: { path: String.raw`C:\Windows` },
        expected: true,
      },
      {
        name: 'does not match a wildcard against a number',
        pattern: { code: [{ wildcard: '4*' }] },
        event: { code: 404 },
        expected: false,
      },
    ]);
  });

  describe('anything-but', () => {
    run([
      {
        name: 'does not match the single excluded string',
        pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
        event: { detail: { state: 'initializing' } },
        expected: false,
      },
      {
        name: 'matches any other string',
        pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
        event: { detail: { state: 'running' } },
        expected: true,
      },
      {
        name: 'does not match a value in the excluded list of strings',
        pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
        event: { detail: { state: 'overloaded' } },
        expected: false,
      },
      {
        name: 'does not match a value in the excluded list of numbers',
        pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
        event: { detail: { 'x-limit': 200 } },
        expected: false,
      },
      {
        name: 'matches a string even when it spells an excluded number',
        pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
        event: { detail: { 'x-limit': '123' } },
        expected: true,
      },
      {
        name: 'does not match a missing field',
        pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
        event: { detail: {} },
        expected: false,
      },
      {
        name: 'matches a field whose value is null',
        pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
        event: { detail: { state: null } },
        expected: true,
      },
      {
        name: 'matches an event array when one element is not excluded',
        pattern: { detail: { tags: [{ 'anything-but': ['internal'] }] } },
        event: { detail: { tags: ['internal', 'public'] } },
        expected: true,
      },
      {
        name: 'does not match an event array whose elements are all excluded',
        pattern: { detail: { tags: [{ 'anything-but': ['internal', 'secret'] }] } },
        event: { detail: { tags: ['secret', 'internal'] } },
        expected: false,
      },
      {
        name: 'does not match a string with the excluded prefix',
        pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
        event: { detail: { state: 'initializing' } },
        expected: false,
      },
      {
        name: 'matches a number against anything-but prefix',
        pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
        event: { detail: { state: 12 } },
        expected: true,
      },
      {
        name: 'does not match a string with any of the excluded prefixes',
        pattern: { Region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] },
        event: { Region: 'eu-west-1' },
        expected: false,
      },
      {
        name: 'matches a string without the excluded suffix',
        pattern: { FileName: [{ 'anything-but': { suffix: '.png' } }] },
        event: { FileName: 'cat.jpg' },
        expected: true,
      },
      {
        name: 'does not match any casing of an excluded string with equals-ignore-case',
        pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } },
        event: { detail: { state: 'INITIALIZING' } },
        expected: false,
      },
      {
        name: 'matches a string outside an equals-ignore-case list',
        pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }] } },
        event: { detail: { state: 'C' } },
        expected: true,
      },
      {
        name: 'does not match a string that fits the excluded wildcard',
        pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
        event: { FilePath: 'src/lib/index.ts' },
        expected: false,
      },
      {
        name: 'matches a string that does not fit the excluded wildcard',
        pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
        event: { FilePath: 'src/app/index.ts' },
        expected: true,
      },
    ]);
  });

  describe('numeric', () => {
    run([
      {
        name: 'matches a number inside a half-open range',
        pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
        event: { detail: { 'c-count': 5 } },
        expected: true,
      },
      {
        name: 'does not match the excluded lower bound of a range',
        pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
        event: { detail: { 'c-count': 0 } },
        expected: false,
      },
      {
        name: 'matches numeric equality written in exponent form',
        pattern: { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
        event: { detail: { 'x-limit': 301.8 } },
        expected: true,
      },
      {
        name: 'does not match a string that looks like a number',
        pattern: { detail: { total: [{ numeric: ['>', 0] }] } },
        event: { detail: { total: '12' } },
        expected: false,
      },
      {
        name: 'matches a negative number below an upper bound',
        pattern: { detail: { 'd-count': [{ numeric: ['<', 10] }] } },
        event: { detail: { 'd-count': -3.5 } },
        expected: true,
      },
      {
        name: 'matches when any number in an event array is in range',
        pattern: { detail: { scores: [{ numeric: ['>=', 90] }] } },
        event: { detail: { scores: [12, 95, 40] } },
        expected: true,
      },
    ]);
  });

  describe('exists', () => {
    run([
      {
        name: 'matches exists true when the field is present',
        pattern: { detail: { state: [{ exists: true }] } },
        event: ec2Event,
        expected: true,
      },
      {
        name: 'matches exists true when the field is present with a null value',
        pattern: { detail: { state: [{ exists: true }] } },
        event: { detail: { state: null } },
        expected: true,
      },
      {
        name: 'does not match exists true when the field is missing',
        pattern: { detail: { 'c-count': [{ exists: true }] } },
        event: ec2Event,
        expected: false,
      },
      {
        name: 'does not match exists true on an intermediate object',
        pattern: { dynamodb: { presentKey: [{ exists: true }] } },
        event: { dynamodb: { presentKey: { S: 'test123' } } },
        expected: false,
      },
      {
        name: 'does not match exists true on an empty array',
        pattern: { resources: [{ exists: true }] },
        event: { resources: [] },
        expected: false,
      },
      {
        name: 'matches exists false when the field is missing',
        pattern: { detail: { 'c-count': [{ exists: false }] } },
        event: ec2Event,
        expected: true,
      },
      {
        name: 'does not match exists false when the field is present',
        pattern: { detail: { state: [{ exists: false }] } },
        event: ec2Event,
        expected: false,
      },
      {
        name: 'matches exists false when a parent of the field is missing',
        pattern: { detail: { level1: { level2: { level3: [{ exists: false }] } } } },
        event: { detail: { level1: { other: 'x' } } },
        expected: true,
      },
      {
        name: 'matches exists false on a field that holds an object, which is not a leaf',
        pattern: { detail: { 'c-count': [{ exists: false }] } },
        event: { detail: { 'c-count': { c1: 100 } } },
        expected: true,
      },
      {
        name: 'matches exists false on an empty array',
        pattern: { resources: [{ exists: false }] },
        event: { resources: [] },
        expected: true,
      },
      {
        name: 'matches a missing field through exists false next to anything-but in one list',
        pattern: {
          dynamodb: { NewImage: { homemade: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } } },
        },
        event: { dynamodb: { NewImage: { purchased: { N: '789' } } } },
        expected: true,
      },
    ]);
  });

  describe('cidr', () => {
    run([
      {
        name: 'matches an IPv4 address inside the block',
        pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
        event: { detail: { sourceIPAddress: '10.0.0.255' } },
        expected: true,
      },
      {
        name: 'does not match an IPv4 address outside the block',
        pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
        event: { detail: { sourceIPAddress: '10.0.1.0' } },
        expected: false,
      },
      {
        name: 'matches a fully written IPv6 address inside a compressed IPv6 block',
        pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8:1234:1a00::/64' }] } },
        event: { detail: { sourceIPAddress: '2001:0db8:1234:1a00:0000:0000:0000:0001' } },
        expected: true,
      },
      {
        name: 'does not match an IPv6 address outside the block',
        pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8:1234:1a00::/64' }] } },
        event: { detail: { sourceIPAddress: '2001:db8:1234:1a01::1' } },
        expected: false,
      },
      {
        name: 'compares an IPv4 address with an IPv6 block on its 8 hex digits, strictly inside, as event-ruler does',
        pattern: { ip: [{ cidr: '::/0' }] },
        event: { ip: '10.0.0.1' },
        expected: true,
      },
      {
        name: 'does not match an IPv4 address whose hex digits reach the top of an IPv6 block',
        pattern: { ip: [{ cidr: '::/0' }] },
        event: { ip: '255.255.255.255' },
        expected: false,
      },
      {
        name: 'does not match a number against a block',
        pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
        event: { detail: { sourceIPAddress: 123 } },
        expected: false,
      },
      {
        name: 'reads an IPv4-mapped IPv6 address written in hex as the IPv4 address it maps',
        pattern: { ip: [{ cidr: '192.168.0.0/16' }] },
        event: { ip: '::ffff:c0a8:402' },
        expected: true,
      },
      {
        name: 'does not read an IPv6 address with an embedded dotted quad as an address at all',
        pattern: { ip: [{ cidr: '192.168.0.0/16' }] },
        event: { ip: '::ffff:192.168.4.2' },
        expected: false,
      },
      {
        name: 'does not match a string that is not an IP address',
        pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/8' }] } },
        event: { detail: { sourceIPAddress: '10.0.0.256' } },
        expected: false,
      },
    ]);
  });

  // Each case below was checked against aws/event-ruler's Machine.rulesForJSONEvent, the matcher EventBridge
  // runs on; see the comments in domain/event-pattern.ts for the code each follows.
  describe('cidr blocks and IP addresses as event-ruler reads them', () => {
    run([
      {
        name: 'matches the whole network of an IPv4 block written with host bits set',
        pattern: { ip: [{ cidr: '10.0.0.1/24' }] },
        event: { ip: '10.0.0.0' },
        expected: true,
      },
      {
        name: 'matches the whole network of an IPv6 block written with host bits set',
        pattern: { ip: [{ cidr: '2001:db8::ff/120' }] },
        event: { ip: '2001:db8::' },
        expected: true,
      },
      {
        name: 'reads leading zeros in an IPv4 address as decimal',
        pattern: { ip: [{ cidr: '10.0.0.0/24' }] },
        event: { ip: '00000010.0.0.1' },
        expected: true,
      },
      {
        name: 'does not read an IPv4 address longer than 15 characters',
        pattern: { ip: [{ cidr: '10.0.0.0/24' }] },
        event: { ip: '0010.000.000.001' },
        expected: false,
      },
      {
        name: 'reads an IPv6 group with more than four digits when the extra ones are leading zeros',
        pattern: { ip: [{ cidr: '1::/16' }] },
        event: { ip: '00001::1' },
        expected: true,
      },
      {
        name: 'matches an IPv6 address in an IPv4 block when its first 32 bits lie in the block',
        pattern: { ip: [{ cidr: '10.0.0.0/8' }] },
        event: { ip: 'a00::1' },
        expected: true,
      },
      {
        name: 'matches an IPv4 address literal however the event writes that address',
        pattern: { ip: ['10.0.0.1'] },
        event: { ip: '010.0.0.1' },
        expected: true,
      },
      {
        name: 'matches an IPv4 address literal against the IPv4-mapped IPv6 form in hex',
        pattern: { ip: ['10.0.0.1'] },
        event: { ip: '::ffff:a00:1' },
        expected: true,
      },
      {
        name: 'matches a compressed IPv6 address literal against its full, upper-case form',
        pattern: { ip: ['2001:db8::1'] },
        event: { ip: '2001:DB8:0:0:0:0:0:1' },
        expected: true,
      },
      {
        name: 'does not match an IPv6 address literal against a different address',
        pattern: { ip: ['2001:db8::1'] },
        event: { ip: '2001:db8::2' },
        expected: false,
      },
      {
        name: 'compares a string that only looks like an IPv6 address exactly',
        pattern: { time: ['08:23'] },
        event: { time: '8:23' },
        expected: false,
      },
    ]);
  });

  describe('equals-ignore-case as event-ruler folds case', () => {
    const eic = (expected: string, actual: string, matches: boolean): Case => ({
      name: `${matches ? 'matches' : 'does not match'} equals-ignore-case ${JSON.stringify(expected)} against ${JSON.stringify(actual)}`,
      pattern: { name: [{ 'equals-ignore-case': expected }] },
      event: { name: actual },
      expected: matches,
    });
    run([
      eic('straße', 'STRASSE', true),
      eic('straße', 'strasse', false),
      eic('ß', 'ẞ', false),
      eic('ẞ', 'ß', true),
      eic('ı', 'I', true),
      eic('I', 'ı', false),
      eic('i', 'İ', false),
      eic('ΟΔΟΣ', 'οδοσ', true),
      eic('ΟΔΟΣ', 'οδος', false),
      eic('σ', 'ς', false),
      eic('k', '\u212a', false),
      eic('\u212a', 'k', true),
      eic('ǅ', 'ǅ', false),
      eic('привет', 'ПРИВЕТ', true),
      eic('Ａｂ', 'ａＢ', true),
      eic('a😀', 'A😀', false),
      eic('😀', '??', true),
      {
        name: 'matches a prefix with equals-ignore-case by the same folding',
        pattern: { name: [{ prefix: { 'equals-ignore-case': 'straß' } }] },
        event: { name: 'STRASSE' },
        expected: true,
      },
      {
        name: 'matches a suffix with equals-ignore-case by the same folding',
        pattern: { name: [{ suffix: { 'equals-ignore-case': 'ı' } }] },
        event: { name: 'PARI' },
        expected: true,
      },
      {
        name: 'excludes with anything-but equals-ignore-case what equals-ignore-case matches',
        pattern: { name: [{ 'anything-but': { 'equals-ignore-case': ['ß', 'σ'] } }] },
        event: { name: 'SS' },
        expected: false,
      },
      {
        name: 'keeps with anything-but equals-ignore-case what equals-ignore-case does not match',
        pattern: { name: [{ 'anything-but': { 'equals-ignore-case': ['ß', 'σ'] } }] },
        event: { name: 'ẞ' },
        expected: true,
      },
    ]);
  });

  describe('exists false inside arrays of objects, as event-ruler orders fields', () => {
    const items = [{ sku: 'a', name: 'a' }, { name: 'b' }];
    run([
      {
        name: 'does not match exists false alone when any element of the array has the field',
        pattern: { detail: { items: { sku: [{ exists: false }] } } },
        event: { detail: { items: [{ sku: 'a' }, { name: 'b' }] } },
        expected: false,
      },
      {
        name: 'matches exists false in the element chosen by a field whose name sorts before it',
        pattern: { detail: { items: { sku: [{ exists: false }], name: ['b'] } } },
        event: { detail: { items } },
        expected: true,
      },
      {
        name: 'does not match exists false in an element whose field sorts before the chosen one',
        pattern: { detail: { items: { aaa: [{ exists: false }], name: ['b'] } } },
        event: { detail: { items: [{ aaa: 'a', name: 'a' }, { name: 'b' }] } },
        expected: false,
      },
      {
        name: 'does not match exists false when the chosen element has the field',
        pattern: { detail: { items: { sku: [{ exists: false }], name: ['a'] } } },
        event: { detail: { items } },
        expected: false,
      },
      {
        name: 'matches exists false when another element with the same name lacks the field',
        pattern: { detail: { items: { sku: [{ exists: false }], name: ['a'] } } },
        event: { detail: { items: [{ sku: 'a', name: 'a' }, { name: 'a' }] } },
        expected: true,
      },
    ]);
  });

  describe('$or', () => {
    const cloudwatch = {
      source: 'aws.cloudwatch',
      metricName: 'NetworkIn',
      namespace: 'AWS/EC2',
      metricType: 'MetricType',
      detail: { 'detail-type': 'CloudWatch Alarm State Change', source: 'other' },
    };
    run([
      {
        name: 'matches when any alternative of a top-level $or matches',
        pattern: { $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] },
        event: cloudwatch,
        expected: true,
      },
      {
        name: 'does not match when no alternative of $or matches',
        pattern: { $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/ES'] }] },
        event: cloudwatch,
        expected: false,
      },
      {
        name: 'does not match when $or matches but a sibling field does not',
        pattern: { source: ['aws.ec2'], $or: [{ metricName: ['NetworkIn'] }, { namespace: ['AWS/EC2'] }] },
        event: cloudwatch,
        expected: false,
      },
      {
        name: 'matches an alternative that has several fields only when all of them match',
        pattern: {
          source: ['aws.cloudwatch'],
          $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2'] }],
        },
        event: cloudwatch,
        expected: true,
      },
      {
        name: 'matches a nested $or inside an alternative',
        pattern: {
          source: ['aws.cloudwatch'],
          $or: [
            { metricName: ['CPUUtilization'] },
            { namespace: ['AWS/EC2'], $or: [{ metricId: [1234] }, { metricType: ['MetricType'] }] },
          ],
        },
        event: cloudwatch,
        expected: true,
      },
      {
        name: 'does not match when the nested $or inside the only fitting alternative fails',
        pattern: {
          $or: [
            { metricName: ['CPUUtilization'] },
            { namespace: ['AWS/EC2'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
          ],
        },
        event: cloudwatch,
        expected: false,
      },
      {
        name: 'matches a $or inside a nested object',
        pattern: {
          detail: {
            $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }],
          },
        },
        event: cloudwatch,
        expected: true,
      },
      {
        name: 'requires both of two parallel $or groups to match',
        pattern: {
          $or: [{ metricName: ['NetworkIn'] }, { namespace: ['AWS/ES'] }],
          detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['Something Else'] }] },
        },
        event: cloudwatch,
        expected: false,
      },
      {
        name: 'matches numeric alternatives of a $or in detail',
        pattern: {
          detail: {
            $or: [
              { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
              { 'd-count': [{ numeric: ['<', 10] }] },
              { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
            ],
          },
        },
        event: { detail: { 'c-count': 0, 'd-count': 0, 'x-limit': 901.8 } },
        expected: true,
      },
    ]);
  });

  describe('robustness', () => {
    const cyclic: Record<string, unknown> = { detail: { state: 'running' } };
    cyclic.self = cyclic;
    (cyclic.detail as Record<string, unknown>).parent = cyclic;

    it.each([
      ['null', null],
      ['undefined', undefined],
      ['a string', 'aws.ec2'],
      ['a number', 42],
      ['an array', [ec2Event]],
      ['an object without the field', {}],
      ['a detail that is an array of scalars', { detail: ['running'] }],
    ])('returns false without throwing when the event is %s', (_label, event) => {
      expect(matchesEventPattern({ source: ['aws.ec2'], detail: { state: ['running'] } }, event)).toBe(false);
    });

    it('matches a cyclic event without looping forever', () => {
      expect(matchesEventPattern({ detail: { state: ['running'] } }, cyclic)).toBe(true);
    });

    it('returns false for a pattern that is not an object', () => {
      expect(matchesEventPattern(['source'], ec2Event)).toBe(false);
    });

    it('accepts a typed EventPattern', () => {
      const pattern: EventPattern = {
        source: ['aws.ec2'],
        detail: { state: [{ 'anything-but': 'pending' }] },
      };
      expect(matchesEventPattern(pattern, ec2Event)).toBe(true);
    });
  });
});

describe('validateEventPattern', () => {
  it.each([
    ['a simple pattern', { source: ['aws.ec2'], detail: { state: ['terminated', null, 3, true] } }],
    [
      'every operator',
      {
        detail: {
          a: [{ prefix: 'x' }, { prefix: { 'equals-ignore-case': 'x' } }],
          b: [{ suffix: 'x' }, { suffix: { 'equals-ignore-case': 'x' } }],
          c: [{ 'equals-ignore-case': 'x' }, { wildcard: String.raw`a*b\*c\\` }],
          d: [{ 'anything-but': 'x' }, { 'anything-but': 1 }, { 'anything-but': ['x', 'y'] }],
          e: [{ 'anything-but': [1, 2] }, { 'anything-but': { prefix: ['a', 'b'] } }],
          f: [{ 'anything-but': { 'equals-ignore-case': 'x' } }, { 'anything-but': { wildcard: '*/lib/*' } }],
          g: [{ numeric: ['=', 3.0e2] }, { numeric: ['>', 0, '<=', 5] }, { numeric: ['<', 10] }],
          h: [{ exists: true }, { cidr: '10.0.0.0/24' }, { cidr: '2001:db8::/32' }],
        },
      },
    ],
    ['a nested $or', { $or: [{ a: ['1'] }, { b: ['2'], $or: [{ c: [3] }, { d: [4] }] }] }],
    ["a cidr with a trailing slash, which Java's split drops", { ip: [{ cidr: '10.0.0.0/24/' }] }],
    ['a cidr whose mask bits have a plus sign', { ip: [{ cidr: '10.0.0.0/+24' }] }],
    ['a cidr whose IPv6 group has extra leading zeros', { ip: [{ cidr: '00001::/16' }] }],
  ])('accepts %s', (_label, pattern) => {
    expect(validateEventPattern(pattern)).toEqual([]);
  });

  it.each([
    ['a pattern that is not an object', ['source'], ['(pattern): must be a JSON object, got an array']],
    ['an empty pattern', {}, ['(pattern): must not be an empty object']],
    ['an empty nested object', { detail: {} }, ['detail: must not be an empty object']],
    [
      'a leaf that is not an array',
      { source: 'aws.ec2' },
      ['source: must be an array of match values or a nested object, got "aws.ec2"'],
    ],
    [
      'an operator written outside a match list',
      { source: { prefix: 'aws.' } },
      [
        'source.prefix: must be an array of match values or a nested object, got "aws." ' +
          '(operators go inside a match list: [{"prefix": ...}])',
      ],
    ],
    ['an empty match list', { resources: [] }, ['resources: match list must not be empty']],
    [
      'an array inside a match list',
      { resources: [['a']] },
      ['resources: match values must be strings, numbers, booleans, null or operator objects'],
    ],
    [
      'an unknown operator',
      { detail: { state: [{ contains: 'run' }] } },
      [
        'detail.state: unknown operator "contains"; expected one of prefix, suffix, equals-ignore-case, ' +
          'wildcard, anything-but, numeric, exists, cidr',
      ],
    ],
    [
      'an operator object with two keys',
      { detail: { state: [{ prefix: 'a', suffix: 'b' }] } },
      ['detail.state: an operator object needs exactly one key, got 2'],
    ],
    [
      'a numeric range missing its last number',
      { detail: { total: [{ numeric: ['>', 0, '<'] }] } },
      ['detail.total: numeric needs pairs of operator and number'],
    ],
    [
      'a numeric comparison against a string',
      { detail: { total: [{ numeric: ['>', '10'] }] } },
      ['detail.total: numeric needs pairs of operator and number'],
    ],
    [
      'a numeric value that is not an array',
      { detail: { total: [{ numeric: 5 }] } },
      ['detail.total: numeric needs an array such as [">", 0, "<=", 5]'],
    ],
    [
      'an unknown numeric operator',
      { detail: { total: [{ numeric: ['==', 5] }] } },
      ['detail.total: numeric operator "==" is not one of =, <, <=, >, >='],
    ],
    [
      'a numeric range with the upper bound first',
      { detail: { total: [{ numeric: ['<', 5, '>', 0] }] } },
      [
        'detail.total: numeric takes one comparison, or a lower bound (> or >=) followed by an upper bound ' +
          '(< or <=)',
      ],
    ],
    [
      'a numeric range whose bounds are reversed',
      { detail: { total: [{ numeric: ['>', 5, '<', 5] }] } },
      ['detail.total: numeric lower bound must be less than the upper bound'],
    ],
    [
      'exists with a string',
      { detail: { state: [{ exists: 'yes' }] } },
      ['detail.state: exists needs true or false'],
    ],
    [
      'prefix with a number',
      { detail: { state: [{ prefix: 1 }] } },
      ['detail.state: prefix needs a string or {"equals-ignore-case": string}'],
    ],
    [
      'anything-but null',
      { detail: { state: [{ 'anything-but': null }] } },
      [
        'detail.state: anything-but needs a string, a number, a list of only strings or only numbers, or an ' +
          'object with one of prefix, suffix, equals-ignore-case, wildcard',
      ],
    ],
    [
      'anything-but with mixed strings and numbers',
      { detail: { state: [{ 'anything-but': ['a', 1] }] } },
      ['detail.state: anything-but list must contain only strings or only numbers'],
    ],
    [
      'anything-but with an empty prefix',
      { detail: { state: [{ 'anything-but': { prefix: '' } }] } },
      ['detail.state: anything-but prefix must not be an empty string'],
    ],
    [
      'anything-but with a nested numeric',
      { detail: { state: [{ 'anything-but': { numeric: ['>', 1] } }] } },
      [
        'detail.state: anything-but does not support "numeric"; use prefix, suffix, equals-ignore-case or wildcard',
      ],
    ],
    [
      'a wildcard with consecutive stars',
      { FilePath: [{ wildcard: 'dir/**' }] },
      ['FilePath: wildcard has consecutive "*" characters at position 4'],
    ],
    [
      'a wildcard with an invalid escape',
      { FilePath: [{ wildcard: String.raw`dir\n*` }] },
      [String.raw`FilePath: wildcard has an invalid escape at position 3 (only \* and \\ are allowed)`],
    ],
    [
      'a cidr without a mask',
      { ip: [{ cidr: '10.0.0.1' }] },
      ['ip: cidr "10.0.0.1" is not valid: needs exactly one "/", as in 10.0.0.0/24'],
    ],
    [
      'a cidr with an address that is not an IP',
      { ip: [{ cidr: '10.0.0.300/24' }] },
      ['ip: cidr "10.0.0.300/24" is not valid: 10.0.0.300 is not an IPv4 or IPv6 address'],
    ],
    [
      'a cidr whose IPv6 address embeds a dotted quad',
      { ip: [{ cidr: '::ffff:10.0.0.0/104' }] },
      ['ip: cidr "::ffff:10.0.0.0/104" is not valid: ::ffff:10.0.0.0 is not an IPv4 or IPv6 address'],
    ],
    [
      'a cidr with negative mask bits',
      { ip: [{ cidr: '10.0.0.0/-8' }] },
      ['ip: cidr "10.0.0.0/-8" is not valid: mask bits must not be negative'],
    ],
    [
      'a cidr with an IPv4-mapped address in hex and an IPv6-length mask',
      { ip: [{ cidr: '::ffff:a00:0/104' }] },
      ['ip: cidr "::ffff:a00:0/104" is not valid: mask bits must be below 32 for an IPv4 address'],
    ],
    [
      'a cidr with a full-length IPv6 mask',
      { ip: [{ cidr: '2001:db8::1/128' }] },
      ['ip: cidr "2001:db8::1/128" is not valid: mask bits must be below 128 for an IPv6 address'],
    ],
    [
      'a cidr with too many mask bits',
      { ip: [{ cidr: '10.0.0.0/33' }] },
      ['ip: cidr "10.0.0.0/33" is not valid: mask bits must be below 32 for an IPv4 address'],
    ],
    [
      'a cidr with a full-length mask, which EventBridge rejects',
      { ip: [{ cidr: '10.0.0.1/32' }] },
      ['ip: cidr "10.0.0.1/32" is not valid: mask bits must be below 32 for an IPv4 address'],
    ],
    [
      'a $or that is an object rather than an array',
      { $or: { source: ['a'] } },
      ['$or: must be an array of at least two pattern objects'],
    ],
    [
      'a $or with a single alternative',
      { $or: [{ source: ['a'] }] },
      ['$or: must be an array of at least two pattern objects'],
    ],
    [
      'a $or with an alternative that is not an object',
      { detail: { $or: [{ a: ['1'] }, 'b'] } },
      ['detail.$or[1]: must be a pattern object'],
    ],
    [
      'an operator name used as a field inside $or',
      { $or: [{ numeric: [1] }, { prefix: ['abc'] }] },
      [
        '$or[0].numeric: "numeric" is an operator name and cannot be a field name inside $or',
        '$or[1].prefix: "prefix" is an operator name and cannot be a field name inside $or',
      ],
    ],
    [
      'an invalid field inside a $or alternative',
      { detail: { $or: [{ a: ['1'] }, { b: { c: 'x' } }] } },
      ['detail.$or[1].b.c: must be an array of match values or a nested object, got "x"'],
    ],
    [
      'several problems at once',
      { source: 'x', detail: { total: [{ numeric: ['>'] }], state: [] } },
      [
        'source: must be an array of match values or a nested object, got "x"',
        'detail.total: numeric needs pairs of operator and number',
        'detail.state: match list must not be empty',
      ],
    ],
  ])('reports %s', (_label, pattern, errors) => {
    expect(validateEventPattern(pattern)).toEqual(errors);
  });
});
