import { defineConfig } from 'vitest/config';

// Two projects so each kind can run alone: `unit` is pure (no emulator, no network),
// `emulator` starts DynamoDB Local and SES v2 local through tests/setup/emulators.ts.
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
    ],
  },
});
