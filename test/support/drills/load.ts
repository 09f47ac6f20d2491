// autocannon ships no types; the little of its programmatic API used here is typed below.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (
  opts: Record<string, unknown>,
  cb?: (err: Error | null, result: LoadResult) => void,
) => LoadInstance;

interface Histogram {
  average: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
}

export interface LoadResult {
  title?: string;
  requests: Histogram & { total: number; sent: number };
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  resets: number;
  statusCodeStats: Record<string, { count: number }>;
  '1xx': number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
}

interface LoadInstance {
  stop(): void;
  on(event: 'reqError', listener: (error: Error) => void): void;
  on(event: 'response', listener: (client: unknown, statusCode: number) => void): void;
}

export interface RequestSpec {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: Record<string, any>, context: Record<string, any>) => Record<string, any>;
  onResponse?: (status: number, body: string, context: Record<string, any>) => void;
}

export interface Load {
  /** Stops sending (requests in flight are dropped) and answers the results. */
  stop(): Promise<LoadResult>;
  /** Resolves with the results when the run ends on its own (duration) or after stop(). */
  readonly done: Promise<LoadResult>;
  /** The first few request errors, for the failure message. */
  readonly errorSamples: string[];
  /** Non-2xx answers by status, as they came. */
  readonly statuses: Map<number, number>;
}

/**
 * An autocannon run against a spawned service, in this process (no workers): `connections`
 * keep-alive clients each sending `requests` in a loop until `maxSeconds` or stop(). The timeout
 * per request is a hang deadline (60 s), not a latency target.
 */
export function startLoad(options: {
  title: string;
  url: string;
  connections: number;
  maxSeconds: number;
  requests: RequestSpec[];
  timeoutSeconds?: number;
}): Load {
  const errorSamples: string[] = [];
  const statuses = new Map<number, number>();
  let instance!: LoadInstance;
  const done = new Promise<LoadResult>((resolve, reject) => {
    instance = autocannon(
      {
        title: options.title,
        url: options.url,
        connections: options.connections,
        duration: options.maxSeconds,
        timeout: options.timeoutSeconds ?? 60,
        requests: options.requests,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
  instance.on('reqError', (error) => {
    if (errorSamples.length < 5) errorSamples.push(String(error?.message ?? error));
  });
  instance.on('response', (_client, statusCode) => {
    if (statusCode < 200 || statusCode >= 300) statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
  });
  done.catch(() => undefined);
  let stopped = false;
  return {
    done,
    errorSamples,
    statuses,
    // Idempotent: a drill stops it, and its cleanup stops it again whatever happened.
    stop: () => {
      if (!stopped) {
        stopped = true;
        instance.stop();
      }
      return done;
    },
  };
}
