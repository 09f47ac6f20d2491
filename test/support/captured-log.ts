import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/** Where the test environment (log-environment.ts) leaves this test file's CapturedLog for the test code. */
const GLOBAL_KEY = '__teddyCapturedLog';
/** How many lines a failure message shows; the rest goes to a file it names. */
const SHOWN_ON_FAILURE = 120;
/** Older lines are dropped past this, so a long drill cannot exhaust the worker's memory. */
const MAX_LINES = 100_000;

/**
 * The application's log lines of one e2e test file (the in-process app's pino output and every
 * spawned service's stdout and stderr), kept out of the test run's output. When a test fails, the
 * lines logged since the previous test ended are added to its failure. TEST_SHOW_LOGS=1 also prints
 * every line as it comes.
 */
export class CapturedLog {
  private lines: string[] = [];
  private dropped = 0;
  /** Where the current test's share of the lines begins, counting dropped lines. */
  private mark = 0;
  private readonly partial = new Map<string, string>();
  private readonly listeners = new Set<(source: string, line: string) => void>();

  constructor(
    private readonly testFile: string,
    private readonly echo = Boolean(process.env.TEST_SHOW_LOGS),
  ) {}

  /** Adds output of `source` (any chunking: a line split across chunks is joined). */
  write(source: string, text: string): void {
    const parts = ((this.partial.get(source) ?? '') + text).split('\n');
    this.partial.set(source, parts.pop()!);
    for (const line of parts) this.add(source, line);
  }

  /** A stream for the in-process app's logger (AppOptions.logStream). */
  stream(source: string): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _encoding, done) => {
        this.write(source, chunk.toString());
        done();
      },
    });
  }

  /** Calls `listener` with every complete line from now on; returns the unsubscribe function. */
  subscribe(listener: (source: string, line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * At the end of a test: if it failed, an Error whose message is the log of that test (since the
   * previous test ended), to be shown with its failure. Either way the next test's share starts here.
   */
  testDone(failed: boolean, testName: string): Error | undefined {
    // A line still being written when the test failed is shown as far as it got.
    if (failed) for (const [source, rest] of this.partial) if (rest) this.write(source, '\n');
    const from = this.mark;
    this.mark = this.dropped + this.lines.length;
    const mine = this.lines.slice(Math.max(from - this.dropped, 0));
    const total = mine.length + Math.max(this.dropped - from, 0);
    if (!failed || total === 0) return undefined;
    let head = `application log of this test (${total} lines):`;
    if (total > mine.length || total > SHOWN_ON_FAILURE) {
      const shown = Math.min(SHOWN_ON_FAILURE, mine.length);
      head = `application log of this test: the last ${shown} of ${total} lines (the test file's whole log: ${this.saveAll(testName)}):`;
    }
    const error = new Error(`${head}\n${mine.slice(-SHOWN_ON_FAILURE).join('\n')}`);
    // Jest prints the stack; without frames it prints just this text.
    error.stack = error.message;
    return error;
  }

  private add(source: string, line: string): void {
    const entry = `${source} | ${line}`;
    this.lines.push(entry);
    if (this.lines.length > MAX_LINES) {
      const excess = this.lines.length - MAX_LINES;
      this.lines.splice(0, excess);
      this.dropped += excess;
    }
    if (this.echo) process.stdout.write(`${entry}\n`);
    for (const listener of this.listeners) listener(source, line);
  }

  private saveAll(testName: string): string {
    const dir = join(tmpdir(), 'teddy-test-logs');
    mkdirSync(dir, { recursive: true });
    const slug = `${this.testFile}-${testName}`.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 120);
    const file = join(dir, `${slug}-${process.pid}-${Date.now()}.log`);
    const note = this.dropped > 0 ? [`(${this.dropped} older lines were dropped)`] : [];
    writeFileSync(file, [...note, ...this.lines].join('\n') + '\n');
    return file;
  }
}

/** Called by the test environment once per test file. */
export function installCapturedLog(global: Record<string, unknown>, testFile: string): CapturedLog {
  const log = new CapturedLog(testFile);
  global[GLOBAL_KEY] = log;
  return log;
}

/**
 * This test file's CapturedLog, or, when the file runs under another test environment, one that
 * prints every line (the behaviour before logs were captured).
 */
export function capturedLog(): CapturedLog {
  const g = globalThis as Record<string, unknown>;
  g[GLOBAL_KEY] ??= new CapturedLog('unknown', true);
  return g[GLOBAL_KEY] as CapturedLog;
}
