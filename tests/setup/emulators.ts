import { execFileSync } from 'node:child_process';
import { javaVersion } from '../../local/emulators.ts';

// Emulator tests start DynamoDB Local (Java) and SES v2 local themselves and stop them after.
// This setup checks the machine can run them, and the teardown fails the run if any DynamoDB Local
// started during it is still alive (a Java child outlives a Node parent that dies).

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
};

export const teardown = async () => {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const stray = [...dynamoDbLocalPids()].filter((pid) => !before.has(pid));
  for (const pid of stray) process.kill(pid, 'SIGKILL');
  if (stray.length > 0) throw new Error(`DynamoDB Local processes were left running: ${stray.join(', ')}`);
};
