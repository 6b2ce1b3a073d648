import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { DeadLetterErasure, DeadLetterStore, ExportSink } from '#domain/ports.ts';

// The local stand-ins of what AWS keeps outside the table: the dead letters (.rapport/rejected.ndjson,
// which, unlike SQS, can be rewritten) and the exports (files under .rapport/exports/).

/** Whether a dead letter carries the customer: a `customerId` anywhere in it (event, detail, input). */
const mentions = (value: unknown, customerId: string): boolean => {
  if (Array.isArray(value)) return value.some((v) => mentions(v, customerId));
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(
    ([key, v]) => (key === 'customerId' && v === customerId) || mentions(v, customerId),
  );
};

const parseLine = (line: string): unknown => {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

export class LocalDeadLetters implements DeadLetterStore {
  constructor(
    private readonly file: string,
    /** The runtime's own list of what it dead-lettered, kept in step with the file. */
    private readonly kept: { body: unknown }[],
  ) {}

  async erase(customerId: string): Promise<DeadLetterErasure> {
    const lines = readFileSync(this.file, 'utf8').split('\n').filter(Boolean);
    const left = lines.filter((line) => !mentions(parseLine(line), customerId));
    // Rewritten whole (small, local): a crash leaves either the old file or the new one.
    writeFileSync(this.file, left.map((line) => `${line}\n`).join(''));
    for (let i = this.kept.length - 1; i >= 0; i--)
      if (mentions(this.kept[i]?.body, customerId)) this.kept.splice(i, 1);
    return { removed: lines.length - left.length };
  }
}

/** A path segment from the shop's text: nothing in it climbs out of the directory. */
const segment = (text: string) => encodeURIComponent(text).replace(/^\./, '%2E');

export class LocalExportSink implements ExportSink {
  constructor(private readonly dir: string) {}

  async put(request: { customerId: string; requestId: string }, json: string) {
    const dir = `${this.dir}/${segment(request.customerId)}`;
    mkdirSync(dir, { recursive: true });
    const location = `${dir}/${segment(request.requestId)}.json`;
    writeFileSync(location, json);
    return { location, link: pathToFileURL(location).href };
  }
}
