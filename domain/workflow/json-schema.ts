import * as z from 'zod';
import { programSchema } from '../program.ts';
import {
  awardPointsStep,
  conditionSchema,
  durationSchema,
  entrySchema,
  eventTriggerSchema,
  flowSchema,
  stepSchema,
  triggerSchema,
  updateProfileStep,
} from './flow-schema.ts';

// JSON Schemas for the YAML that marketers edit, generated from the zod schemas so they never drift.
// Editors (yaml-language-server, through `# yaml-language-server: $schema=...` or `yaml.schemas`) use
// them for completion, hover and inline errors. zod stays the authority: `rapport validate` checks what
// JSON Schema cannot say (a split's percentages adding up to 100, a duration longer than zero).
//
// Draft-07, not zod's default 2020-12: yaml-language-server implements draft-07 (its 2019/2020 support
// was reverted), and it is what ajv's default export validates.

type JsonObject = Record<string, unknown>;
type Meta = { id?: string; title?: string; description?: string };

const FLOW_SCHEMA_ID = 'urn:rapport:schema:flow:v1';
const PROGRAM_SCHEMA_ID = 'urn:rapport:schema:program:v1';

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The leaf options of a (nested) union, `z.lazy` unwrapped. */
const variantsOf = (schema: z.core.$ZodType): z.core.$ZodType[] => {
  if (schema instanceof z.ZodLazy) return variantsOf(schema.unwrap());
  if (schema instanceof z.ZodUnion) return schema.options.flatMap(variantsOf);
  return [schema];
};

/** `award_points`, ... for a step object; the three `wait` forms by the key that tells them apart. */
const stepKind = (schema: z.core.$ZodType): string | undefined => {
  if (!(schema instanceof z.ZodObject)) return undefined;
  const type = schema.shape.type;
  if (!(type instanceof z.ZodLiteral) || typeof type.value !== 'string') return undefined;
  if (type.value !== 'wait') return type.value;
  if ('duration' in schema.shape) return 'wait_duration';
  if ('until' in schema.shape) return 'wait_until';
  if ('for_event' in schema.shape) return 'wait_for_event';
  return undefined;
};

const STEP_DOCS: Record<string, Meta> = {
  award_points: {
    id: 'AwardPointsStep',
    title: 'award_points',
    description:
      'Award loyalty points: `award: <name>` (a one-off award from program.yaml) or a fixed `points`. Orders earn through program.yaml.',
  },
  send_email: {
    id: 'SendEmailStep',
    title: 'send_email',
    description:
      'Send the email template workflows/emails/TEMPLATE.liquid, at most once per journey, on a `topic` from program.yaml: a marketing topic goes only to customers who consented to it.',
  },
  wait_duration: {
    id: 'WaitDurationStep',
    title: 'wait (duration)',
    description: 'Wait for a while: `duration: { days: 7 }`.',
  },
  wait_until: {
    id: 'WaitUntilStep',
    title: 'wait (until a time)',
    description:
      'Wait until a time of day, optionally on some weekdays: `until: { time: "10:00", weekdays: [mon] }`.',
  },
  wait_for_event: {
    id: 'WaitForEventStep',
    title: 'wait (for an event)',
    description:
      'Wait for an event up to a `timeout`, then run `on_event` or `on_timeout`; the journey goes on with the next step after either.',
  },
  branch: {
    id: 'BranchStep',
    title: 'branch',
    description:
      'Run the steps of the first `if` whose conditions all hold, else the `else` steps; then go on with the next step.',
  },
  split: {
    id: 'SplitStep',
    title: 'split',
    description:
      'Send customers down random paths by percentage (adding up to 100); `holdout: true` marks a control group.',
  },
  update_profile: {
    id: 'UpdateProfileStep',
    title: 'update_profile',
    description: 'Set profile attributes and add or remove tags.',
  },
  issue_coupon: {
    id: 'IssueCouponStep',
    title: 'issue_coupon',
    description: 'Issue a coupon: a `percent` or `amount` off, or free shipping, `valid` for a while.',
  },
  emit_event: {
    id: 'EmitEventStep',
    title: 'emit_event',
    description: 'Publish an event such as `journey.converted`.',
  },
  exit: { id: 'ExitStep', title: 'exit', description: 'End the journey here.' },
};

const FLOW_PROPERTY_DOCS = {
  version: 'The version of the flow language: 1.',
  id: 'The flow id: lower-case letters, digits and dashes, at most 40.',
  name: 'A name for people.',
  description: 'What the flow is for.',
  status: '`active` (the default) or `paused`.',
  trigger:
    'What starts a journey: an event, no order for a number of days, a date on the profile, or a schedule.',
  entry:
    'Who may enter: conditions, re-entry (`once`, `always` or `after` a duration) and a cap on customers in the flow at once.',
  exit_on: 'Events that end the journey wherever it is.',
  goal: 'A conversion: this event within the window after entering is recorded on the journey.',
  steps:
    'The steps, in order. branch, split and wait-for-event hold nested steps; when those end, the journey goes on with the next step, unless it ran an exit.',
} satisfies Record<string, string>;

/**
 * Metadata for the generator: ids (which become `definitions`), titles and descriptions for the named parts
 * of the flow schema, on top of whatever `.meta()`/`.describe()` put in zod's global registry.
 */
const flowMetadata = (): z.core.$ZodRegistry<JsonObject> => {
  const registry = z.registry<JsonObject>();
  registry.add(stepSchema, {
    id: 'Step',
    title: 'step',
    description: 'One step of the flow; `type` says which.',
  });
  for (const variant of variantsOf(stepSchema)) {
    const kind = stepKind(variant);
    const docs = kind === undefined ? undefined : STEP_DOCS[kind];
    if (docs) registry.add(variant, docs);
  }
  registry.add(durationSchema, {
    id: 'Duration',
    description: 'A duration: `{ days: 7 }`, `{ hours: 2, minutes: 30 }`.',
  });
  registry.add(conditionSchema, {
    id: 'Condition',
    description:
      'A condition on a field of the profile or the trigger event (`field: profile.orderCount`, `gte: 2`), or a tag.',
  });
  registry.add(triggerSchema, { id: 'Trigger', description: FLOW_PROPERTY_DOCS.trigger });
  registry.add(eventTriggerSchema, {
    id: 'EventTrigger',
    description:
      'An event, optionally filtered on its detail: `where: { total: [{ numeric: [">=", 100] }] }`.',
  });
  registry.add(entrySchema, { id: 'Entry', description: FLOW_PROPERTY_DOCS.entry });
  // Keep what `.meta()` or `.describe()` put in zod's global registry; ours wins where both say something.
  const own = registry.get.bind(registry);
  registry.get = ((schema: z.core.$ZodType) => {
    const merged = { ...z.globalRegistry.get(schema), ...own(schema) };
    return Object.keys(merged).length > 0 ? merged : undefined;
  }) as typeof registry.get;
  return registry;
};

/** What `.refine` says that JSON Schema can say too; the rest stays zod's job. */
const flowOverride = (ctx: { zodSchema: z.core.$ZodType; jsonSchema: JsonObject }): void => {
  const { zodSchema, jsonSchema } = ctx;
  if (zodSchema === awardPointsStep) {
    jsonSchema.oneOf = [{ required: ['award'] }, { required: ['points'] }];
  } else if (zodSchema === updateProfileStep) {
    jsonSchema.anyOf = [{ required: ['set'] }, { required: ['add_tags'] }, { required: ['remove_tags'] }];
  } else if (zodSchema === durationSchema) {
    jsonSchema.minProperties = 1;
  } else if (zodSchema === flowSchema.shape.steps) {
    jsonSchema.minItems = 1;
  }
};

/** `.int()` adds the safe-integer range as bounds; that is noise in an editor. */
const dropSafeIntegerBounds = (jsonSchema: JsonObject): void => {
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
};

const generate = (
  schema: z.ZodType,
  header: { $id: string; title: string; description: string },
  options: { metadata?: z.core.$ZodRegistry<JsonObject>; override?: typeof flowOverride } = {},
): JsonObject => {
  const generated: JsonObject = z.toJSONSchema(schema, {
    target: 'draft-07',
    // Defaults (status, entry, a time's `at`) are optional in the YAML: describe what people write.
    io: 'input',
    // The recursive steps (z.lazy) become a definition that refers to itself.
    cycles: 'ref',
    reused: 'inline',
    // Nothing in the flow is unrepresentable today; should a z.custom() appear, accept anything there
    // rather than break the editor schema (zod still validates it).
    unrepresentable: 'any',
    ...(options.metadata ? { metadata: options.metadata } : {}),
    override: (ctx) => {
      const jsonSchema = ctx.jsonSchema as JsonObject;
      dropSafeIntegerBounds(jsonSchema);
      options.override?.({ zodSchema: ctx.zodSchema, jsonSchema });
    },
  });
  const { $schema, ...rest } = generated;
  return { $schema, ...header, ...rest };
};

/** The JSON Schema (draft-07) of a flow file, workflows/flows/*.yaml. */
export function flowJsonSchema(): Record<string, unknown> {
  const schema = generate(
    flowSchema,
    {
      $id: FLOW_SCHEMA_ID,
      title: 'Rapport flow',
      description:
        'A marketing flow: a trigger, optional entry rules, exit events and goal, and the steps a customer goes through.',
    },
    { metadata: flowMetadata(), override: flowOverride },
  );
  const properties = schema.properties;
  if (isObject(properties)) {
    for (const [key, description] of Object.entries(FLOW_PROPERTY_DOCS)) {
      const property = properties[key];
      if (isObject(property) && property.description === undefined) property.description = description;
    }
  }
  return schema;
}

/** The JSON Schema (draft-07) of the loyalty program, workflows/program.yaml. */
export function programJsonSchema(): Record<string, unknown> {
  return generate(programSchema, {
    $id: PROGRAM_SCHEMA_ID,
    title: 'Rapport loyalty program',
    description: 'The loyalty program: currency, email sender and the earn rule.',
  });
}
