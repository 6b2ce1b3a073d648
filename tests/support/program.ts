import { type Program, programSchema } from '../../domain/program.ts';

/** A minimal program for domain and adapter tests: one point per whole dollar, nothing pending. */
export const testProgram: Program = programSchema.parse({
  version: 1,
  id: 'test',
  name: 'Test',
  currency: 'USD',
  timeZone: 'UTC',
  sender: { from: 'Shop <hello@example.com>', postalAddress: '1 Test Street, Testville, USA' },
  earn: { id: 'base-earn', version: 1, pointsPerCurrencyUnit: 1, rounding: 'floor' },
});

/** The test program with changes: `loyaltyProgram({ points: { pendingDays: 30 } })`. */
export const loyaltyProgram = (changes: Record<string, unknown>): Program =>
  programSchema.parse({ ...testProgram, ...changes });
