import { defineConfig } from 'vitest/config';

// Two projects so each kind can run alone: `unit` is pure (no emulator, no network),
// `emulator` starts DynamoDB Local and SES v2 local through tests/setup/emulators.ts; `reliability`
// does too.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'emulator',
          include: ['tests/emulator/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/setup/emulators.ts'],
          testTimeout: 120_000,
          hookTimeout: 1_500_000,
          fileParallelism: false,
        },
      },
      {
        // The outage suite: a CDNOW slice delivered cleanly and then three times, reordered, with
        // faults injected; both runs must end the same. Minutes, so it runs alone (npm run test:reliability).
        test: {
          name: 'reliability',
          include: ['tests/reliability/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/setup/emulators.ts'],
          testTimeout: 120_000,
          hookTimeout: 3_000_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
