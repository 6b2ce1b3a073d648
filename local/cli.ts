import { inspect } from 'node:util';
import { ConfigError } from '#domain/errors.ts';
import { parseCommandLine } from './cli-options.ts';

// The `rapport` command: parse and check the arguments (local/cli-options.ts), then run the command.
// Help and usage errors are answered before anything heavy loads or starts.

/** One line per error, with its causes; the stack only when RAPPORT_DEBUG=1 asks for it. */
const describeError = (error: unknown): string => {
  if (process.env.RAPPORT_DEBUG === '1') return inspect(error, { depth: 6 });
  if (error instanceof ConfigError) return error.message;
  const messages: string[] = [];
  for (let e: unknown = error; e !== undefined && messages.length < 4; ) {
    const message = e instanceof Error ? e.message : String(e);
    // The SDK's causes often repeat the message they wrap.
    if (message && !messages.some((m) => m.includes(message))) messages.push(message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return `${messages.join(': ')} (RAPPORT_DEBUG=1 shows the stack)`;
};

const main = async (argv: string[]): Promise<number> => {
  const line = parseCommandLine(argv);
  switch (line.kind) {
    case 'help':
      process.stdout.write(line.text);
      return 0;
    case 'usage-error':
      process.stderr.write(`${line.message}\n`);
      return 2;
    case 'invoke':
      try {
        const { execute } = await import('./cli-execute.ts');
        return await execute(line.invocation);
      } catch (error) {
        process.stderr.write(`rapport ${line.invocation.name}: ${describeError(error)}\n`);
        return 1;
      }
  }
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`rapport: ${describeError(error)}\n`);
    process.exit(1);
  },
);
