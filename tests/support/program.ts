import type { Program } from '../../domain/program.ts';

/** A minimal program for domain and adapter tests: one point per whole dollar. */
export const testProgram: Program = {
  version: 1,
  id: 'test',
  name: 'Test',
  currency: 'USD',
  timeZone: 'UTC',
  topics: [],
  sender: { from: 'Shop <hello@example.com>' },
  earn: { id: 'base-earn', version: 1, pointsPerCurrencyUnit: 1, rounding: 'floor' },
};
