import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Browser, chromium, ConsoleMessage, Locator, Page } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium): playwright-core never downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where the browser tests leave their screenshots (ignored by git). */
export const ARTIFACTS = resolve(__dirname, '../../test-artifacts');

const ARGS = [
  '--headless',
  // Root (as in CI) cannot use Chromium's sandbox.
  '--no-sandbox',
  '--disable-gpu',
  // The machine reaches nothing but the package registries: keep Chromium from calling home.
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium; fails (never skips) when the browser is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests drive Debian's Chromium, which .ci/run installs ` +
        '(apt-get install -y --no-install-recommends chromium). Install it, or run .ci/run.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
}

/** An answer the test provokes on purpose (e.g. a 403), not counted as a problem. */
export interface ExpectedFailure {
  method: string;
  path: string;
  status: number;
}

/**
 * Everything that goes wrong in a page: console errors (CSP violations among them), uncaught
 * exceptions, failed requests, error answers, requests leaving the app's origin, and CSP violation
 * events with the exact directive.
 */
export class PageProblems {
  private readonly consoleErrors: { text: string; url: string }[] = [];
  private readonly pageErrors: string[] = [];
  private readonly failedRequests: string[] = [];
  private readonly errorResponses: ExpectedFailure[] = [];
  private readonly foreignRequests: string[] = [];

  constructor(
    private readonly page: Page,
    private readonly origin: string,
  ) {}

  /** Starts watching; call before the page navigates. */
  async watch(): Promise<void> {
    // Runs before the page's own scripts, and is not subject to the page's CSP.
    await this.page.addInitScript(`
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolations.push(
          e.effectiveDirective + ' blocked ' + (e.blockedURI || '(inline)') +
          ' in ' + (e.sourceFile || document.location.href) + ':' + e.lineNumber +
          (e.sample ? ' [' + e.sample + ']' : '') + '; policy: ' + e.originalPolicy);
      }, true);
    `);
    this.page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error') this.consoleErrors.push({ text: message.text(), url: message.location().url });
    });
    this.page.on('pageerror', (error) => this.pageErrors.push(`${error.name}: ${error.message}`));
    this.page.on('requestfailed', (request) =>
      this.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`),
    );
    this.page.on('request', (request) => {
      const url = new URL(request.url());
      if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== this.origin)
        this.foreignRequests.push(`${request.method()} ${request.url()}`);
    });
    this.page.on('response', (response) => {
      if (response.status() >= 400) {
        this.errorResponses.push({
          method: response.request().method(),
          path: new URL(response.url()).pathname,
          status: response.status(),
        });
      }
    });
  }

  /** What went wrong, less the expected failures (and the console line Chromium prints for each). */
  async list(expected: ExpectedFailure[] = []): Promise<Record<string, string[]>> {
    const isExpected = (f: ExpectedFailure) => expected.some((e) => e.method === f.method && e.path === f.path && e.status === f.status);
    const expectedConsole = (c: { text: string; url: string }) =>
      expected.some(
        (e) =>
          c.text === `Failed to load resource: the server responded with a status of ${e.status} (${statusText(e.status)})` &&
          safePath(c.url) === e.path,
      );
    const csp = (await this.page.evaluate('window.__cspViolations || []').catch(() => [])) as string[];
    return {
      cspViolations: csp,
      consoleErrors: this.consoleErrors.filter((c) => !expectedConsole(c)).map((c) => `${c.text}${c.url ? ` (${c.url})` : ''}`),
      pageErrors: [...this.pageErrors],
      failedRequests: [...this.failedRequests],
      errorResponses: this.errorResponses.filter((r) => !isExpected(r)).map((r) => `${r.status} ${r.method} ${r.path}`),
      foreignRequests: [...this.foreignRequests],
    };
  }
}

function statusText(status: number): string {
  return (
    ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict' } as Record<number, string>)[status] ??
    ''
  );
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/**
 * Saves a screenshot of `from` down to the bottom of `to` (both on the page), e.g. an operation
 * from its header to its server response, under test-artifacts/. Returns the file's path.
 */
export async function screenshotSpan(page: Page, from: Locator, to: Locator, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await from.scrollIntoViewIfNeeded();
  const top = await from.boundingBox();
  const bottom = await to.boundingBox();
  if (!top || !bottom) {
    await page.screenshot({ path, fullPage: true });
    return path;
  }
  // Bounding boxes are relative to the viewport; a full-page clip is relative to the document.
  const [scrollX, scrollY] = (await page.evaluate('[window.scrollX, window.scrollY]')) as [number, number];
  await page.screenshot({
    path,
    fullPage: true,
    clip: { x: top.x + scrollX, y: top.y + scrollY, width: top.width, height: bottom.y + bottom.height - top.y + 8 },
  });
  return path;
}
