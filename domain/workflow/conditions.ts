import type { JsonObject } from './asl.ts';
import type { Condition } from './flow-schema.ts';

/** A field as a JSONPath into the execution's state: the profile or the trigger event. */
const variableOf = (field: string): string =>
  field.startsWith('profile.') ? `$.journey.profile.${field.slice(8)}` : `$.trigger.${field.slice(6)}`;

const escapeMatch = (text: string) => text.replace(/\\/g, '\\\\').replace(/\*/g, '\\*');

/**
 * One condition as a Choice rule. Step Functions fails an execution that compares a missing or
 * mistyped field, so every comparison is guarded by a presence and type test.
 */
export const conditionRule = (condition: Condition): JsonObject => {
  if ('tag' in condition) return { Variable: `$.journey.profile.tags.${condition.tag}`, IsPresent: true };
  if ('not_tag' in condition)
    return { Not: { Variable: `$.journey.profile.tags.${condition.not_tag}`, IsPresent: true } };
  const Variable = variableOf(condition.field);
  const present: JsonObject = { Variable, IsPresent: true };
  const typed = (value: string | number | boolean): [JsonObject, JsonObject] =>
    typeof value === 'number'
      ? [
          { Variable, IsNumeric: true },
          { Variable, NumericEquals: value },
        ]
      : typeof value === 'boolean'
        ? [
            { Variable, IsBoolean: true },
            { Variable, BooleanEquals: value },
          ]
        : [
            { Variable, IsString: true },
            { Variable, StringEquals: value },
          ];
  const numeric = (operator: string, value: number): JsonObject => ({
    And: [present, { Variable, IsNumeric: true }, { Variable, [operator]: value }],
  });
  if ('equals' in condition) return { And: [present, ...typed(condition.equals)] };
  if ('not_equals' in condition) {
    const [isType, equals] = typed(condition.not_equals);
    return { Not: { And: [present, isType, equals] } };
  }
  if ('gt' in condition) return numeric('NumericGreaterThan', condition.gt);
  if ('gte' in condition) return numeric('NumericGreaterThanEquals', condition.gte);
  if ('lt' in condition) return numeric('NumericLessThan', condition.lt);
  if ('lte' in condition) return numeric('NumericLessThanEquals', condition.lte);
  if ('starts_with' in condition) {
    return {
      And: [
        present,
        { Variable, IsString: true },
        { Variable, StringMatches: `${escapeMatch(condition.starts_with)}*` },
      ],
    };
  }
  return condition.exists ? present : { Not: present };
};

export const allOf = (conditions: readonly Condition[]): JsonObject =>
  conditions.length === 1 ? conditionRule(conditions[0]!) : { And: conditions.map(conditionRule) };
