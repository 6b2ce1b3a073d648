import { ConfigError, type ConfigProblem } from '../errors.ts';
import { isValidTimeZone } from '../local-time.ts';
import { type Program, programSchema } from '../program.ts';
import type { EmailTemplate } from '../templates.ts';
import type { JsonObject } from './asl.ts';
import {
  analyseEmailTemplate,
  analyseTextTemplate,
  isTextTemplateFile,
  type TemplateRead,
  TemplateSyntaxError,
  templateIdOf,
} from './email-templates.ts';
import { flowDefinition } from './flow-machine.ts';
import { type Flow, flowSchema } from './flow-schema.ts';
import { ingestDefinition } from './ingest-machine.ts';
import { flowPattern, ingestPattern } from './patterns.ts';
import { revisionOf } from './revision.ts';
import { type SweepConfig, sweepConfig } from './sweep-config.ts';
import {
  checkEventFields,
  checkFlowReferences,
  checkTemplateReads,
  checkTopics,
  checkTransactionalTemplates,
} from './validate.ts';
import { formatPath, parseYamlWith, type SourceFile } from './yaml-source.ts';

// YAML in, Amazon States Language (JSONPath) and EventBridge patterns out. Pure and deterministic:
// the same files always give byte-identical output. The entry point of the compiler; its parts:
// validate.ts (cross-references), flow-machine.ts and ingest-machine.ts (the state machines, from
// asl.ts's blocks and conditions.ts), patterns.ts (rules), sweep-config.ts, revision.ts.

export type { Json, JsonObject } from './asl.ts';
export { PLACEHOLDERS } from './asl.ts';
export type { SweepConfig } from './sweep-config.ts';
export { sweepConfig } from './sweep-config.ts';

export interface WorkflowSources {
  program: SourceFile;
  flows: SourceFile[];
  emails: SourceFile[];
}

export interface CompiledFlow {
  id: string;
  file: string;
  flow: Flow;
  /** A hash of everything that decides how this flow runs; journeys keep the revision they entered. */
  revision: string;
  definition: JsonObject;
  pattern: JsonObject;
}

export interface CompiledProject {
  program: Program;
  templates: ReadonlyMap<string, EmailTemplate>;
  ingest: { definition: JsonObject; pattern: JsonObject };
  flows: CompiledFlow[];
  sweep: SweepConfig;
}

/** Validates every file, cross-checks references, compiles; throws one ConfigError listing all problems. */
export const compileProject = (sources: WorkflowSources): CompiledProject => {
  const problems: ConfigProblem[] = [];

  const program = parseYamlWith(sources.program, programSchema);
  if (!program.ok) problems.push(...program.problems);
  if (program.ok && !isValidTimeZone(program.value.timeZone)) {
    problems.push({
      file: sources.program.file,
      path: 'timeZone',
      message: `${program.value.timeZone} is not an IANA time zone`,
    });
  }

  const templates = new Map<string, EmailTemplate>();
  const reads = new Map<string, { file: string; reads: TemplateRead[] }[]>();
  const addReads = (id: string, file: string, list: TemplateRead[]) =>
    reads.set(id, [...(reads.get(id) ?? []), { file, reads: list }]);
  const texts: SourceFile[] = [];
  const htmlIds = new Set<string>();
  for (const email of sources.emails) {
    if (isTextTemplateFile(email.file)) {
      texts.push(email);
      continue;
    }
    const id = templateIdOf(email.file);
    htmlIds.add(id);
    try {
      const parsed = analyseEmailTemplate(id, email.text);
      templates.set(id, parsed.template);
      addReads(id, email.file, parsed.reads);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      problems.push({ file: email.file, line: error.line, path: error.field, message: error.message });
    }
  }
  for (const email of texts) {
    const id = templateIdOf(email.file);
    const template = templates.get(id);
    try {
      const parsed = analyseTextTemplate(email.text);
      if (template) templates.set(id, { ...template, text: parsed.text });
      else if (!htmlIds.has(id))
        problems.push({
          file: email.file,
          line: 1,
          path: '',
          message: `a text part needs its template ${id}.liquid beside it (with the subject and the HTML)`,
        });
      addReads(id, email.file, parsed.reads);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      problems.push({ file: email.file, line: error.line, path: error.field, message: error.message });
    }
  }

  const flows: { file: string; flow: Flow }[] = [];
  const seen = new Map<string, string>();
  for (const source of sources.flows) {
    const parsed = parseYamlWith(source, flowSchema);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    const flow = parsed.value;
    const here = (path: string, message: string) => problems.push({ file: source.file, path, message });
    const other = seen.get(flow.id);
    if (other) here('id', `flow id "${flow.id}" is already used by ${other}`);
    seen.set(flow.id, source.file);
    checkFlowReferences(flow, templates, program.ok ? program.value : undefined, here);
    const located = (at: readonly (string | number)[], message: string) => {
      const position = parsed.locate(at);
      problems.push({ file: source.file, ...position, path: formatPath(at), message });
    };
    checkEventFields(flow, located);
    if (program.ok) checkTopics(flow, program.value, located);
    checkTemplateReads(flow, reads, (problem) => problems.push(problem));
    if (program.ok)
      checkTransactionalTemplates(flow, program.value, reads, (problem) => problems.push(problem));
    flows.push({ file: source.file, flow });
  }

  if (!program.ok || problems.length > 0) throw new ConfigError(problems);
  const active = flows.filter(({ flow }) => flow.status === 'active');
  return {
    program: program.value,
    templates,
    ingest: { definition: ingestDefinition(program.value), pattern: ingestPattern() },
    flows: active.map(({ file, flow }) => {
      const revision = revisionOf(flow, program.value, templates);
      return {
        id: flow.id,
        file,
        flow,
        revision,
        definition: flowDefinition(flow, revision, program.value, templates),
        pattern: flowPattern(flow),
      };
    }),
    sweep: sweepConfig(
      active.map((f) => f.flow),
      program.value,
    ),
  };
};
