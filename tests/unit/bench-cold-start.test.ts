import { describe, expect, it } from 'vitest';
import { coldStartFigure, formatColdStart, median, sdkImports } from '../../local/bench-cold-start.ts';

describe('the cold-start measurement', () => {
  it('takes the middle value of an odd count and the mean of the middle two of an even one', () => {
    expect(median([30, 10, 20])).toBe(20);
    expect(median([40, 10, 30, 20])).toBe(25);
  });

  it('refuses a median of no values', () => {
    expect(() => median([])).toThrow(RangeError);
  });

  it('takes the ratio as the median of the run-by-run ratios, so a burst of load on one run does not move it', () => {
    // Prepare: run 2 was slowed for both imports alike, run 4 only for the hello-world.
    const handler = [130, 900, 120, 125, 128];
    const helloWorld = [100, 700, 100, 400, 100];
    // Act
    const figure = coldStartFigure('functions/sweep.ts', handler, helloWorld);
    // Assess: ratios 1.3, 1.29, 1.2, 0.31, 1.28 -> 1.28
    expect(figure.medianMs).toBe(128);
    expect(figure.helloWorldMs).toBe(100);
    expect(figure.ratio).toBeCloseTo(1.28);
    expect(formatColdStart(figure)).toContain('import 1.3x hello-world (128 ms; hello-world 100 ms)');
  });

  it('refuses handler and hello-world samples that do not pair up', () => {
    expect(() => coldStartFigure('functions/sweep.ts', [1, 2], [1])).toThrow(RangeError);
  });

  it('finds the AWS SDK packages a minified bundle leaves to the runtime, once each', () => {
    const code =
      'import{DynamoDBClient as a}from"@aws-sdk/client-dynamodb";import{x}from "@aws-sdk/lib-dynamodb";import{b}from"@aws-sdk/client-dynamodb";import{c}from"node:fs";';
    expect(sdkImports(code)).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']);
  });
});
