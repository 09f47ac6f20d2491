/**
 * Reading the service's /metrics (Prometheus text format) from a drill.
 *
 * prom-client's default metrics include the event-loop delay measured by monitorEventLoopDelay:
 * nodejs_eventloop_lag_max_seconds is the longest delay since the previous scrape (the histogram is
 * reset at each collect), so scraping every few hundred milliseconds and keeping the largest value
 * gives the worst stall of the event loop over the whole drill.
 */

export async function scrape(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(30_000) });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** The value of a sample (`name` or `name{labels}` exactly as written), or undefined. */
export function metric(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `))
      return Number(
        line
          .slice(sample.length + 1)
          .trim()
          .split(' ')[0],
      );
  }
  return undefined;
}

export interface LagFigures {
  samples: number;
  failedScrapes: number;
  /** The largest nodejs_eventloop_lag_max_seconds of all scrapes. */
  maxLagSeconds: number;
  /** The largest nodejs_eventloop_lag_p99_seconds of all scrapes. */
  maxP99Seconds: number;
  /** Each scrape's max lag, in ms, with the time since sampling started. */
  series: { atMs: number; maxMs: number }[];
  scrapeMaxMs: number;
}

export interface LagSampler {
  /** Stops sampling; answers the figures (seconds). */
  stop(): Promise<LagFigures>;
}

/** Scrapes /metrics every `everyMs` and keeps the largest event-loop lag seen. */
export async function sampleEventLoopLag(baseUrl: string, everyMs = 500): Promise<LagSampler> {
  // A first scrape resets the histogram: what follows is the drill's own.
  await scrape(baseUrl);
  let stopped = false;
  let samples = 0;
  let failedScrapes = 0;
  let maxLag = 0;
  let maxP99 = 0;
  let scrapeMax = 0;
  const series: LagFigures['series'] = [];
  const begin = Date.now();
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      try {
        const text = await scrape(baseUrl);
        scrapeMax = Math.max(scrapeMax, Date.now() - started);
        samples += 1;
        const max = metric(text, 'nodejs_eventloop_lag_max_seconds') ?? 0;
        series.push({ atMs: started - begin, maxMs: Math.round(max * 1000) });
        maxLag = Math.max(maxLag, max);
        maxP99 = Math.max(maxP99, metric(text, 'nodejs_eventloop_lag_p99_seconds') ?? 0);
      } catch {
        failedScrapes += 1;
      }
      const wait = everyMs - (Date.now() - started);
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    }
  })();
  return {
    // Idempotent: a drill stops it, and its cleanup stops it again whatever happened.
    async stop() {
      stopped = true;
      await loop;
      return { samples, failedScrapes, maxLagSeconds: maxLag, maxP99Seconds: maxP99, series, scrapeMaxMs: scrapeMax };
    },
  };
}
