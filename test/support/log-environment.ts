import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';
import { basename } from 'node:path';
import { CapturedLog, installCapturedLog } from './captured-log';

/**
 * The e2e tests' environment: Node's, plus a CapturedLog that keeps the application's log lines out
 * of the run's output and adds a failed test's share of them to its failure.
 */
export default class LogCapturingEnvironment extends TestEnvironment {
  private readonly log: CapturedLog;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.log = installCapturedLog(this.global as unknown as Record<string, unknown>, basename(context.testPath));
  }

  handleTestEvent(event: Circus.Event): void {
    if (event.name !== 'test_done') return;
    const note = this.log.testDone(event.test.errors.length > 0, event.test.name);
    if (note) event.test.errors.push(note);
  }
}
