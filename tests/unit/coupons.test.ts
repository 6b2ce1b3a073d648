import { describe, expect, it } from 'vitest';
import { couponCode } from '../../domain/journeys.ts';
import { couponContract } from '../support/coupon-contract.ts';
import { InMemoryCustomerStore, testSigner } from '../support/in-memory-customer-store.ts';

describe('coupon codes', () => {
  it('cannot be computed from the public ids without the key', async () => {
    const subject = ['c-1', 'r-1'];
    const ours = await couponCode(testSigner('the key of one deployment, long enough'), 'RWD', subject);
    const guessed = await couponCode(testSigner('a key an outsider guessed, long enough'), 'RWD', subject);

    expect(ours).toMatch(/^RWD-[A-Z2-9]{5}-[A-Z2-9]{5}$/);
    expect(guessed).not.toBe(ours);
  });

  it('differ by customer, by attempt, and by how the ids split', async () => {
    const signer = testSigner();
    const codes = await Promise.all([
      couponCode(signer, 'RWD', ['c-1', 'r-1']),
      couponCode(signer, 'RWD', ['c-2', 'r-1']),
      couponCode(signer, 'RWD', ['c-1', 'r-1'], 1),
      couponCode(signer, 'RWD', ['c-1/r', '1']),
    ]);

    expect(new Set(codes).size).toBe(4);
    expect(await couponCode(signer, 'RWD', ['c-1', 'r-1'])).toBe(codes[0]);
  });
});

describe('the in-memory customer store with reward coupons', () => {
  couponContract(async () => new InMemoryCustomerStore());
});
