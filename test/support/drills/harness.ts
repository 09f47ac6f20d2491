import { ServiceProcess, SERVICE_KEYS } from '../service-process';

/**
 * What a drill started, undone in reverse order whatever happened (afterEach, and afterAll as a
 * safety net): spawned services are killed, databases dropped, clusters stopped and deleted,
 * sinks closed. Never throws; problems are returned (and printed) instead.
 */
export class Resources {
  private readonly undo: { what: string; fn: () => unknown }[] = [];
  readonly services: ServiceProcess[] = [];
  /** Extra text for a failure message (e.g. a private cluster's server log). */
  readonly notes: (() => string)[] = [];

  add(what: string, fn: () => unknown): void {
    this.undo.push({ what, fn });
  }

  service(p: ServiceProcess): ServiceProcess {
    this.services.push(p);
    this.add(`stop ${p.name} (pid ${p.pid})`, () => p.stop());
    return p;
  }

  async release(): Promise<string[]> {
    const problems: string[] = [];
    while (this.undo.length > 0) {
      const { what, fn } = this.undo.pop()!;
      try {
        await fn();
      } catch (error) {
        problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.services.length = 0;
    this.notes.length = 0;
    if (problems.length > 0) console.warn(`[drill] cleanup problems:\n${problems.join('\n')}`);
    return problems;
  }

  /** Runs a drill body; on failure, adds the tail of every service's output (and the notes) to the error. */
  async explained(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      const logs = this.services
        .map((p) => `--- ${p.name} (pid ${p.pid}, ${p.alive ? 'running' : 'exited'}) ---\n${p.tail(30)}`)
        .join('\n');
      const notes = this.notes.map((n) => n()).join('\n');
      if (error instanceof Error) {
        const extra = `\n\nservice output:\n${logs}${notes ? `\n${notes}` : ''}`;
        // jest prints the stack, which repeats the message as it was when the error was made.
        if (error.stack?.includes(error.message)) error.stack = error.stack.replace(error.message, `${error.message}${extra}`);
        error.message += extra;
      }
      throw error;
    }
  }
}

export interface Answer {
  status: number;
  body: any;
  ms: number;
}

/**
 * An HTTP request to a spawned service with a deadline of the caller's choosing (a cleanup of a
 * million rows under load can take longer than ServiceProcess.request's 30 s). A hang past the
 * deadline rejects.
 */
export async function call(
  p: ServiceProcess,
  method: string,
  path: string,
  body?: unknown,
  role: keyof typeof SERVICE_KEYS = 'operator',
  timeoutMs = 180_000,
): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${p.url}${path}`, {
    method,
    headers: { 'X-API-Key': SERVICE_KEYS[role], ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, ms: Date.now() - started };
}

/** One line of figures, prefixed [drill], so a run's numbers can be grepped out of the jest output. */
export function figures(drill: string, values: Record<string, unknown>): string {
  const line = `[drill] ${drill}: ${Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(' ')}`;
  console.log(line);
  return line;
}

/** Pauses the built-in notice job, so that only what a drill triggers runs (NOTIFY_CRON is 23:00 UTC). */
export async function pauseNoticeJob(p: ServiceProcess): Promise<void> {
  await p.expect(200, 'PATCH', '/admin/scheduler/jobs/cleanup_notifications', { paused: true });
}
