import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

// The one configured Logger and Metrics of every function (Powertools for AWS Lambda): structured
// JSON lines carrying the request id and cold start, and CloudWatch metrics as EMF lines. Never log
// whole events or email addresses: log ids, counts and error names.

export type { Logger, Metrics };
export { MetricUnit };

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

export interface ObservabilityOptions {
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent' | undefined;
  /** Where the lines go instead of stdout: the local runtime's log file, a test's array. */
  write?: ((line: string) => void) | undefined;
  /** Keys on every line (the local runtime names the function; in AWS the context does). */
  persistentKeys?: Record<string, string> | undefined;
}

/** Powertools' Logger, printing each JSON line to `write` instead of the Lambda console. */
class LineLogger extends Logger {
  // Not a #private field: Logger's constructor prints the lines it buffered before this is set.
  private sink?: (line: string) => void;
  constructor(options: ConstructorParameters<typeof Logger>[0], sink: (line: string) => void) {
    super(options);
    this.sink = sink;
  }
  protected override printLog(logLevel: number, log: LogItem): void {
    if (!this.sink) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    this.sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

/** Powertools' Metrics, printing each EMF line to `write` instead of the Lambda console. */
class LineMetrics extends Metrics {
  constructor(
    options: ConstructorParameters<typeof Metrics>[0],
    private readonly sink: (line: string) => void,
  ) {
    super(options);
  }
  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) this.sink(JSON.stringify(this.serializeMetrics()));
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }
}

/** Powertools' `service` dimension on every metric: the stack's alarms name it. */
export const SERVICE = 'rapport';

/** Anything shaped like an email address taken out of a text (provider errors and some shops' ids quote them). */
export const redactAddresses = (message: string): string =>
  message.replace(/[^\s@<>()[\]"',;:]+@[\w-]+(?:\.[\w-]+)+/g, '[address]');

/**
 * The last word on every line, whoever logs it: no address in any value (a shop may use addresses
 * as customer ids, so ids and fact keys carry them too), no event or detail object.
 */
const privateValues = (key: string, value: unknown): unknown => {
  if (typeof value === 'string') return redactAddresses(value);
  if ((key === 'event' || key === 'detail') && typeof value === 'object' && value !== null)
    return '[omitted]';
  return value;
};

export const createObservability = (options: ObservabilityOptions = {}): Observability => {
  const loggerOptions = {
    serviceName: SERVICE,
    logLevel: options.logLevel ?? 'info',
    jsonReplacerFn: privateValues,
    ...(options.persistentKeys ? { persistentKeys: options.persistentKeys } : {}),
  };
  // In AWS the namespace comes from POWERTOOLS_METRICS_NAMESPACE (the stack sets it per stack).
  const metricsOptions = { serviceName: SERVICE };
  const write = options.write;
  if (!write) return { logger: new Logger(loggerOptions), metrics: new Metrics(metricsOptions) };
  return {
    logger: new LineLogger(loggerOptions, write),
    metrics: new LineMetrics({ namespace: 'Rapport/local', ...metricsOptions }, write),
  };
};

/** Counts in EMF, named for what an operator watches. */
export const countMetric = (metrics: Metrics, name: string, value: number): void => {
  if (value > 0) metrics.addMetric(name, MetricUnit.Count, value);
};
