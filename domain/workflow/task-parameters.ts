import * as z from 'zod';
import type { Json, JsonObject } from './asl.ts';

// A task's `Parameters`, built from the schema its Lambda parses its input with: every key of the
// schema needs a source (a JSONPath into the state, a constant or, for an object, its fields), so a
// field added to a contract appears in the ASL or fails the build; a constant that the handler
// would refuse fails the build too.

export type Source = { path: string } | { value: unknown } | { fields: Record<string, Source | undefined> };

export const fromPath = (path: string): Source => ({ path });
export const constant = (value: unknown): Source => ({ value });
export const fields = (sources: Record<string, Source | undefined>): Source => ({ fields: sources });

type OptionalKeys<T> = Exclude<{ [K in keyof T]: undefined extends T[K] ? K : never }[keyof T], undefined>;

/**
 * A source for each field of the schema, every field named (an optional one may be given
 * `undefined`), so TypeScript already refuses a call that misses a field added to the contract.
 */
export type Sources<S extends z.ZodObject, O = z.output<S>> = {
  [K in Exclude<keyof O, OptionalKeys<O>>]: Source;
} & { [K in OptionalKeys<O>]: Source | undefined };

export class ContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractError';
  }
}

const isOptional = (schema: z.ZodType) => schema.safeParse(undefined).success;

const build = (
  name: string,
  schema: z.ZodObject,
  sources: Record<string, Source | undefined>,
): JsonObject => {
  const shape = schema.shape as Record<string, z.ZodType>;
  for (const key of Object.keys(sources))
    if (!(key in shape)) throw new ContractError(`${name}.${key}: the task's input schema has no such field`);
  const parameters: JsonObject = {};
  for (const [key, field] of Object.entries(shape)) {
    const source = sources[key];
    const at = `${name}.${key}`;
    if (source === undefined) {
      if (!isOptional(field))
        throw new ContractError(`${at}: required by the task's input schema, given no source`);
      continue;
    }
    if ('path' in source) {
      parameters[`${key}.$`] = source.path;
    } else if ('value' in source) {
      if (source.value === undefined) continue;
      const checked = field.safeParse(source.value);
      if (!checked.success)
        throw new ContractError(
          `${at}: ${checked.error.issues.map((i) => `${[at, ...i.path].join('.')}: ${i.message}`).join('; ')}`,
        );
      // Constants are JSON already: they come from the parsed workflow files.
      parameters[key] = JSON.parse(JSON.stringify(source.value)) as Json;
    } else {
      const inner = field instanceof z.ZodOptional ? field.unwrap() : field;
      if (!(inner instanceof z.ZodObject))
        throw new ContractError(`${at}: fields given for a field that is not an object`);
      parameters[key] = build(at, inner, source.fields);
    }
  }
  return parameters;
};

/** The `Parameters` of a task whose Lambda parses its input with `schema`. */
export const parametersFor = <S extends z.ZodObject>(
  name: string,
  schema: S,
  sources: Sources<S>,
): JsonObject => build(name, schema, sources as Record<string, Source | undefined>);
