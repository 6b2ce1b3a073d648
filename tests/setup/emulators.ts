import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { javaVersion } from '../../local/emulators.ts';

// Emulator tests start DynamoDB Local (Java) and SES v2 local themselves and stop them after.
// This setup checks the machine can run them, and the teardown fails the run if any DynamoDB Local
// started during it is still alive (a Java child outlives a Node parent that dies). Only this run's:
// each run marks its environment, which the workers and their Java children inherit, so two runs on
// one machine (two checkouts) never kill each other's emulators.

const RUN_MARK = 'RAPPORT_EMULATOR_RUN';
const run = randomUUID();

const isOurs = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${RUN_MARK}=${run}`);
  } catch {
    return false;
  }
};

const dynamoDbLocalPids = (): Set<number> => {
  try {
    const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
    return new Set(
      out
        .split('\n')
        .filter((line) => line.includes('DynamoDBLocal.jar'))
        .map((line) => Number.parseInt(line.trim(), 10)),
    );
  } catch {
    return new Set();
  }
};

let before = new Set<number>();

export const setup = () => {
  if (!javaVersion()) {
    throw new Error(
      'Emulator tests need a Java runtime for DynamoDB Local: apt-get install -y default-jre-headless (bash .ci/run does it)',
    );
  }
  before = dynamoDbLocalPids();
  process.env[RUN_MARK] = run;
};

export const teardown = async () => {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const stray = [...dynamoDbLocalPids()].filter((pid) => !before.has(pid) && isOurs(pid));
  for (const pid of stray) process.kill(pid, 'SIGKILL');
  if (stray.length > 0) throw new Error(`DynamoDB Local processes were left running: ${stray.join(', ')}`);
};
