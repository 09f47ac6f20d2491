import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock } from '../common/clock';
import { Env } from '../config/env.validation';
import { JobCatalogue } from './job-catalogue';
import { SchedulerService } from './scheduler.service';

/**
 * false: start the engine but arm no scheduling timers (tests drive tick() with a fake clock; the
 * command line runs one job). The heartbeat of the runs held here is armed either way.
 */
export const SCHEDULER_TIMERS = Symbol('SCHEDULER_TIMERS');

const FIRE = 'scheduler-fire';
const SYNC = 'scheduler-sync';
const HEARTBEAT = 'scheduler-heartbeat';
const REAP = 'scheduler-reap';
const WATCH = 'scheduler-watch';
/** How often the runs in flight here are watched: a cancel or a timeout stops a run within about this long. */
const WATCH_MS = 1000;
/** The fire timer never sleeps longer than this, so a clock step (NTP, a VM resume) is noticed within a minute. */
const MAX_SLEEP_MS = 60_000;
/** After a tick that could not reach the database. */
const RETRY_MS = 5_000;

/**
 * The wiring to @nestjs/schedule's registry. Thin on purpose: each timer calls one engine method.
 * A periodic job is declared with @Cron (e.g. cleanup/cleanup.jobs.ts), but @nestjs/schedule does not
 * fire it: the module is set up with `cronJobs: false`, so the `cron` package never makes a CronJob
 * of it (its next-date computation goes wrong around DST changes, and it would run every job on every
 * replica). The engine takes each @Cron method over as a stored job (tasks.ts, job-catalogue.ts).
 * Stored jobs change at run time, so their times come from the engine's DST-aware cron computation
 * and are armed here as one timeout for the earliest next fire.
 */
@Injectable()
export class SchedulerTimers implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SchedulerTimers');
  private stopped = false;

  constructor(
    private readonly engine: SchedulerService,
    private readonly catalogue: JobCatalogue,
    private readonly registry: SchedulerRegistry,
    private readonly clock: Clock,
    private readonly env: Env,
    @Inject(SCHEDULER_TIMERS) private readonly enabled: boolean,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.engine.start();
    const leaseMs = Math.max(1000, (this.env.SCHEDULER_LEASE_SECONDS * 1000) / 3);
    // Every process renews the leases of the runs it holds, however they started: a scheduled fire, a
    // manual trigger on a replica with SCHEDULER_ENABLED=false, or the command line. A lease left to
    // lapse is taken away by the replicas that reap, and the run's writes stop at its fence.
    this.registry.addInterval(
      HEARTBEAT,
      setInterval(() => void this.heartbeat(), leaseMs),
    );
    this.registry.addInterval(
      WATCH,
      setInterval(() => void this.watch(), WATCH_MS),
    );
    if (!this.env.SCHEDULER_ENABLED || !this.enabled) return;
    this.catalogue.onChange(() => this.arm());
    this.registry.addInterval(
      SYNC,
      setInterval(() => void this.sync(), this.env.SCHEDULER_SYNC_SECONDS * 1000),
    );
    this.registry.addInterval(
      REAP,
      setInterval(() => void this.reap(), leaseMs),
    );
    // At start: fires missed while no replica was up (catch-up), and runs abandoned by a replica that died.
    void this.reap();
    this.arm(0);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const name of [FIRE, SYNC, HEARTBEAT, WATCH, REAP]) this.remove(name);
  }

  async fire(): Promise<void> {
    let ok = false;
    try {
      ok = await this.engine.tick();
    } finally {
      // After a failed tick the fires are still due: try again in a few seconds, not in a tight loop.
      this.arm(ok ? undefined : RETRY_MS);
    }
  }

  async sync(): Promise<void> {
    await this.engine
      .sync()
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not re-read the jobs; keeping the ones known'));
  }

  async heartbeat(): Promise<void> {
    await this.engine
      .heartbeat()
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not renew the leases of the running jobs'));
  }

  async watch(): Promise<void> {
    await this.engine.watch().catch((error: unknown) => this.logger.error({ err: error }, 'could not watch the running jobs'));
  }

  async reap(): Promise<void> {
    await this.engine.reap().catch((error: unknown) => this.logger.error({ err: error }, 'could not look for abandoned runs'));
  }

  private arm(delayMs?: number): void {
    if (this.stopped) return;
    this.remove(FIRE);
    const next = this.catalogue.nextDue();
    if (delayMs === undefined) {
      if (!next) return;
      delayMs = next.getTime() - this.clock.now().getTime();
    }
    const timer = setTimeout(() => void this.fire(), Math.min(MAX_SLEEP_MS, Math.max(0, delayMs)));
    this.registry.addTimeout(FIRE, timer);
  }

  private remove(name: string): void {
    try {
      if (name === FIRE) this.registry.deleteTimeout(name);
      else this.registry.deleteInterval(name);
    } catch {
      // not registered
    }
  }
}
