import { describeError, parseCommandLine } from './cli-options.ts';

// The `rapport` command: parse and check the arguments (local/cli-options.ts), then run the command.
// Help and usage errors are answered before anything heavy loads or starts.

const debug = process.env.RAPPORT_DEBUG === '1';

const main = async (argv: string[]): Promise<number> => {
  const line = parseCommandLine(argv);
  switch (line.kind) {
    case 'help':
      process.stdout.write(line.text);
      return line.code;
    case 'usage-error':
      process.stderr.write(`${line.message}\n`);
      return line.code;
    case 'invoke':
      try {
        const { execute } = await import('./cli-execute.ts');
        return await execute(line.invocation);
      } catch (error) {
        process.stderr.write(`rapport ${line.invocation.name}: ${describeError(error, debug)}\n`);
        return 1;
      }
  }
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`rapport: ${describeError(error, debug)}\n`);
    process.exit(1);
  },
);
