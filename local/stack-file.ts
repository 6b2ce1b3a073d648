import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as z from 'zod';
import { fromRoot } from '#infra/paths.ts';

// .rapport/stack.json: where the running local stack is, written by `rapport serve` and `rapport run`
// once it is up and removed when it stops, so `rapport customer` finds it without flags.

export const STACK_FILE = fromRoot('.rapport/stack.json');

const stackInfo = z.object({
  pid: z.number().int(),
  dynamoDbEndpoint: z.url(),
  tableName: z.string().min(1),
  region: z.string().min(1),
  eventsEndpoint: z.url(),
  sesEndpoint: z.url(),
  /** The unsubscribe endpoint (the Unsubscribe function's URL) that locally sent emails link to. */
  unsubscribeUrl: z.url().optional(),
  /** The signed API, and the file holding this stack's key to sign requests with. */
  apiUrl: z.url().optional(),
  apiKeyFile: z.string().optional(),
  startedAt: z.string(),
});
export type StackInfo = z.infer<typeof stackInfo>;

export const writeStackFile = (info: StackInfo, file = STACK_FILE): void => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`);
};

/** Removes the file if it still describes this process's stack (another serve may have replaced it). */
export const removeStackFile = (pid = process.pid, file = STACK_FILE): void => {
  if (readStackFile(file, () => true)?.pid === pid) rmSync(file, { force: true });
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
};

/**
 * The running stack, or undefined when there is none: no file, or one left by a process that died
 * without removing it (killed with SIGKILL). A file that does not parse is an error naming it.
 */
export const readStackFile = (file = STACK_FILE, alive = isAlive): StackInfo | undefined => {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new Error(`${file} is not JSON; delete it and start rapport serve again`, { cause });
  }
  const parsed = stackInfo.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, {
      cause: parsed.error,
    });
  }
  return alive(parsed.data.pid) ? parsed.data : undefined;
};
