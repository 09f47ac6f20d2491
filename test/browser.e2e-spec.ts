import { AddressInfo } from 'node:net';
import { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { KEYS, startApp, TestApp } from './support/app';
import { ExpectedFailure, launchChromium, PageProblems, screenshotSpan } from './support/browser';
import { BUILTIN_JOBS, TEST_DB } from './support/databases';

/**
 * The Swagger UI at /docs as a person uses it, in a real headless Chromium (Debian's, which .ci/run
 * installs): it renders under the service's CSP, takes the viewer key through "Authorize", runs
 * GET /admin/scheduler/status, and shows the 403 of an operator route. The steps run in order on
 * one page; screenshots go to test-artifacts/.
 */

const WAIT_MS = 15_000;
const STATUS_OP = '#operations-scheduler-getSchedulerStatus';
const TRIGGER_OP = '#operations-scheduler-triggerCleanup';
/** The refusal step 4 provokes on purpose. */
const EXPECTED: ExpectedFailure[] = [{ method: 'POST', path: '/admin/scheduler/cleanup/trigger', status: 403 }];

interface LiveResponse {
  status: string;
  body: any;
  curl: string;
}

/** Expands an operation, clicks "Try it out", lets `fill` edit the inputs, clicks "Execute", and reads the answer off the page. */
async function execute(page: Page, selector: string, name: string, fill?: (op: Locator) => Promise<void>): Promise<LiveResponse> {
  const op = page.locator(selector);
  await op.scrollIntoViewIfNeeded();
  await op.locator('.opblock-summary-control').click();
  await op.locator('button.try-out__btn').click();
  if (fill) await fill(op);
  await op.locator('button.execute').click();
  const live = op.locator('.live-responses-table');
  const status = live.locator('tbody tr.response .response-col_status');
  await status.waitFor({ state: 'visible' });
  const body = live.locator('tbody tr.response .response-col_description .highlight-code pre');
  await body.waitFor({ state: 'visible' });
  // Before any assertion: a failing step still leaves its picture.
  await screenshotSpan(page, op, live, name);
  const text = (await body.innerText()).trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: (await status.innerText()).trim(), body: parsed, curl: await op.locator('.curl-command pre.curl').innerText() };
}

describe(`Swagger UI in a headless Chromium (${TEST_DB})`, () => {
  let t: TestApp | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let problems: PageProblems;
  let base: string;

  beforeAll(async () => {
    browser = await launchChromium();
    t = await startApp();
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(30_000);
    page = await context.newPage();
    problems = new PageProblems(page, base);
    await problems.watch();
  });

  afterAll(async () => {
    // Each step on its own: a failure in one must not leave the others undone.
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await t?.close();
  });

  it('renders the operations list at /docs', async () => {
    const response = await page.goto(`${base}/docs`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await page.locator(STATUS_OP).waitFor({ state: 'visible' });
    expect(await page.locator(`${STATUS_OP} .opblock-summary-path`).getAttribute('data-path')).toBe('/admin/scheduler/status');
    expect(await page.locator(`${TRIGGER_OP} .opblock-summary-path`).getAttribute('data-path')).toBe('/admin/scheduler/cleanup/trigger');
    expect(await page.locator('.opblock').count()).toBeGreaterThan(10);
    expect(await page.locator('.info .title').innerText()).toContain('teddy-scheduler');
    // Swagger UI lists problems with the document (unresolved $refs, parse errors) in an errors box.
    expect(await page.locator('.errors-wrapper').count()).toBe(0);
  });

  it('takes the viewer key through "Authorize" (api-key, X-API-Key)', async () => {
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.waitFor({ state: 'visible' });
    const scheme = dialog.locator('.auth-container').filter({ has: page.locator('h4 code', { hasText: /^api-key$/ }) });
    await expect(scheme.locator('code', { hasText: 'X-API-Key' }).count()).resolves.toBe(1);
    await scheme.locator('input').fill(KEYS.viewer);
    await scheme.locator('button.authorize').click();
    await scheme.locator('h6', { hasText: 'Authorized' }).waitFor({ state: 'visible' });
    await scheme.locator('button.btn-done').click();
    await dialog.waitFor({ state: 'hidden' });
    // The operations now show a closed lock.
    await page.locator(`${STATUS_OP} button.authorization__btn[aria-label="authorization button locked"]`).waitFor({ state: 'visible' });
  });

  it('runs GET /admin/scheduler/status with "Try it out" and shows 200 with both jobs', async () => {
    const res = await execute(page, STATUS_OP, `swagger-status-${TEST_DB}.png`);
    expect(res.curl).toContain(`X-API-Key: ${KEYS.viewer}`);
    expect(res.status).toBe('200');
    expect(res.body).toMatchObject({ total_jobs: BUILTIN_JOBS.length, jobs: expect.any(Array) });
    expect(res.body.jobs.map((job: { id: string }) => job.id)).toEqual(BUILTIN_JOBS);
    // And the page shows them, not just holds them.
    const shown = await page.locator(`${STATUS_OP} .live-responses-table .highlight-code`).innerText();
    expect(shown).toContain('"daily_data_cleanup"');
    expect(shown).toContain('"cleanup_notifications"');
  });

  it('shows 403 for an operator route tried with the viewer key (POST /admin/scheduler/cleanup/trigger)', async () => {
    const res = await execute(page, TRIGGER_OP, `swagger-operator-403-${TEST_DB}.png`, async (op) => {
      await op.locator('textarea.body-param__text').fill('{}');
    });
    expect(res.curl).toContain(`X-API-Key: ${KEYS.viewer}`);
    expect(res.status).toBe('403');
    expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden', message: expect.stringContaining('operator') });
    // Refused before running: the ledger holds no run of the cleanup.
    const runs = await t!.http.get('/admin/scheduler/jobs/daily_data_cleanup/runs').set(t!.as('operator')).expect(200);
    expect(runs.body.items).toEqual([]);
  });

  it('logged no console error, CSP violation, failed request or unexpected error answer', async () => {
    expect(await problems.list(EXPECTED)).toEqual({
      cspViolations: [],
      consoleErrors: [],
      pageErrors: [],
      failedRequests: [],
      errorResponses: [],
      foreignRequests: [],
    });
  });
});
