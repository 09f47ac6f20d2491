import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits between attempts: about 30 s in all, enough for a database restart or a failover. */
const DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000];

/**
 * Runs a write that must not be lost (the end of a run, a report's final counts), trying again while
 * the database is unreachable. Only for idempotent writes: an attempt whose commit was lost in
 * transit is simply written again.
 */
export async function persistently<T>(what: string, logger: Logger, write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= DELAYS_MS.length) throw error;
      logger.warn(`could not ${what} (${error instanceof Error ? error.message : String(error)}); retrying in ${DELAYS_MS[attempt]} ms`);
      await sleep(DELAYS_MS[attempt]);
    }
  }
}
