/**
 * The operations files (ops/): the Prometheus configuration, the alert rules and their unit tests,
 * and the Grafana dashboard, checked with the real tools against the real service:
 *  - promtool accepts prometheus.yml and alerts.yml, and alerts.test.yml passes, with a test for every alert;
 *  - the service's /metrics passes `promtool check metrics`;
 *  - a real Prometheus, run with (a copy of) prometheus.yml, scrapes the service, stores the teddy_
 *    series, loads and evaluates every alert rule, and accepts every dashboard query;
 *  - every metric a panel or an alert uses is one the service exports.
 * promtool and prometheus come from Debian's `prometheus` package, which .ci/run installs.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { dump, load } from 'js-yaml';
import { startApp, TestApp } from './support/app';

const ROOT = resolve(__dirname, '..');
const PROMETHEUS_DIR = join(ROOT, 'ops/prometheus');
const PROMETHEUS_YML = join(PROMETHEUS_DIR, 'prometheus.yml');
const ALERTS_YML = join(PROMETHEUS_DIR, 'alerts.yml');
const ALERTS_TEST_YML = join(PROMETHEUS_DIR, 'alerts.test.yml');
const DASHBOARD = join(ROOT, 'ops/grafana/teddy-scheduler.json');

const JOB = 'teddy-scheduler';
const METRICS_TOKEN = 'ops-test-metrics-token-00000004';

/** Each alert's runbook anchor in docs/operations.md. */
const RUNBOOKS: Record<string, string> = {
  TeddyCleanupNotSucceeded: 'cleanup-not-succeeded',
  TeddyJobRunFailed: 'job-run-failed',
  TeddyRetentionJobPaused: 'job-paused',
  TeddyJobPaused: 'job-paused',
  TeddyNoticesFailing: 'notices-failing',
  TeddyNoticesDead: 'notices-dead',
  TeddyOldestRecordTooOld: 'oldest-record-too-old',
  TeddyServiceDown: 'service-down',
};

/** Series Prometheus makes itself for every target: a query may use them though /metrics never shows them. */
const SCRAPE_SERIES = new Set(['up']);

// ---------------------------------------------------------------------------------------------------
// Tools and processes

/** Where a tool is on PATH, or a failure saying how it gets there. Never a silent skip. */
function tool(name: 'promtool' | 'prometheus'): string {
  const override = process.env[name.toUpperCase()];
  if (override) return override;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${name} is not installed. .ci/run installs it (Debian's "prometheus" package ships prometheus and promtool); ` +
      `on a development machine: apt-get install -y --no-install-recommends prometheus`,
  );
}

interface Ran {
  code: number | null;
  output: string;
}

/** Runs a command to its end (killed after `timeoutMs`), with optional standard input. */
function run(command: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000} ms:\n${output}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
    child.stdin.end(options.input ?? '');
  });
}

async function promtool(args: string[], input?: string): Promise<Ran> {
  return run(tool('promtool'), args, { input, timeoutMs: 90_000 });
}

function expectSuccess(what: string, ran: Ran): void {
  if (ran.code !== 0) throw new Error(`${what} exited with ${ran.code}:\n${ran.output}`);
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  failEarly?: () => string | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const early = failEarly?.();
    if (early) throw new Error(`${what}: ${early}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------------
// The files, parsed

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(): AlertRule[] {
  const doc = load(readFileSync(ALERTS_YML, 'utf8')) as { groups: { name: string; rules: (AlertRule & { record?: string })[] }[] };
  return doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
}

interface AlertTestCase {
  alertname: string;
  eval_time: string;
  exp_alerts?: unknown[] | null;
}

function alertTestCases(): AlertTestCase[] {
  const doc = load(readFileSync(ALERTS_TEST_YML, 'utf8')) as {
    rule_files: string[];
    tests: { name: string; alert_rule_test?: AlertTestCase[] }[];
  };
  return doc.tests.flatMap((t) => t.alert_rule_test ?? []);
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; refId?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

function dashboardPanels(): Panel[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
}

/** The dashboard's Grafana variables, replaced by values Prometheus accepts as they are. */
function withoutGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$\{__rate_interval\}|\$\{__interval\}/g, '1m')
    .replace(/\$__range|\$\{__range\}/g, '1h')
    .replace(/\$\{?job_id\}?/g, '.+');
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression selects (not its functions, labels, keywords or durations). */
function metricNames(expr: string): string[] {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  e = e.replace(/\boffset\s+-?[\dsmhdwy]+/g, ' ');
  const names = new Set<string>();
  for (const m of e.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const before = e[m.index! - 1] ?? ' ';
    if (/[\d.]/.test(before)) continue; // a number's exponent or a duration's unit
    if (
      e
        .slice(m.index! + m[0].length)
        .trimStart()
        .startsWith('(')
    )
      continue; // a function or an aggregation
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** What a /metrics page exports: each family's type, and the names its sample lines carry. */
function exported(text: string): { types: Map<string, string>; samples: Set<string> } {
  const types = new Map<string, string>();
  const samples = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1], type[2]);
    else if (line && !line.startsWith('#')) samples.add(/^[A-Za-z_:][\w:]*/.exec(line)![0]);
  }
  return { types, samples };
}

/** Why `name` is not a series of this /metrics page, or undefined if it is. */
function notExported(name: string, page: { types: Map<string, string>; samples: Set<string> }): string | undefined {
  if (SCRAPE_SERIES.has(name)) return undefined;
  const suffix = /_(bucket|sum|count)$/.exec(name);
  const family = suffix ? name.slice(0, -suffix[0].length) : name;
  const type = page.types.get(name) ?? page.types.get(family);
  if (!type) return 'no such metric';
  if (suffix && !page.types.has(name) && !(type === 'histogram' || (type === 'summary' && suffix[1] !== 'bucket'))) {
    return `_${suffix[1]} of a ${type}`;
  }
  if (!page.samples.has(name)) return 'declared, but no sample yet';
  return undefined;
}

/** Only the teddy_ families of a /metrics page (comments and samples). */
function teddyOnly(text: string): string {
  return (
    text
      .split('\n')
      .filter((line) => /^(# (HELP|TYPE) )?teddy_/.test(line))
      .join('\n') + '\n'
  );
}

// ---------------------------------------------------------------------------------------------------

describe('operations files: promtool', () => {
  it('accepts prometheus.yml (with the rule files it loads) and alerts.yml', async () => {
    expectSuccess('promtool check config', await promtool(['check', 'config', PROMETHEUS_YML]));
    expectSuccess('promtool check rules', await promtool(['check', 'rules', ALERTS_YML]));
  });

  it('passes the alert unit tests (alerts.test.yml)', async () => {
    const ran = await promtool(['test', 'rules', ALERTS_TEST_YML]);
    expectSuccess('promtool test rules', ran);
    expect(ran.output).toContain('SUCCESS');
  }, 120_000);

  it('has, for every alert, a unit test where it fires and one where it must not', () => {
    const cases = alertTestCases();
    const rules = alertRules();
    expect(rules.map((r) => r.alert).sort()).toEqual(Object.keys(RUNBOOKS).sort());
    const missing: string[] = [];
    for (const { alert } of rules) {
      const mine = cases.filter((c) => c.alertname === alert);
      if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) missing.push(`${alert}: no case where it fires`);
      if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) missing.push(`${alert}: no case where it must not fire`);
    }
    expect(missing).toEqual([]);
    // A test naming an alert that does not exist tests nothing.
    expect(cases.map((c) => c.alertname).filter((a) => !RUNBOOKS[a])).toEqual([]);
  });

  it('gives every alert a severity, a summary, a description and its runbook', () => {
    for (const rule of alertRules()) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(critical|warning)$/),
      });
      expect(rule.annotations).toEqual(
        expect.objectContaining({
          summary: expect.any(String),
          description: expect.any(String),
          runbook: `docs/operations.md#${RUNBOOKS[rule.alert]}`,
        }),
      );
    }
  });

  it('points every runbook link at a section of docs/operations.md', () => {
    // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    const anchors = new Set(
      readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) =>
          line
            .replace(/^#+ /, '')
            .trim()
            .toLowerCase()
            .replace(/[^\w\- ]/g, '')
            .replace(/ /g, '-'),
        ),
    );
    for (const rule of alertRules()) {
      const anchor = String(rule.annotations?.runbook).split('#')[1];
      expect({ alert: rule.alert, anchor, found: anchors.has(anchor) }).toEqual({ alert: rule.alert, anchor, found: true });
    }
  });

  it('finds the metric names in PromQL expressions', () => {
    expect(metricNames('sum by (job_id, status) (increase(teddy_job_runs_total{job_id=~"$job_id", x="a b"}[1h]))')).toEqual([
      'teddy_job_runs_total',
    ]);
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (route, le) (rate(teddy_http_request_duration_seconds_bucket[$__rate_interval]))) * 1e3',
      ),
    ).toEqual(['teddy_http_request_duration_seconds_bucket']);
    expect(metricNames('time() - max(a_seconds) > 26 * 3600 or (absent_over_time(b[26h]) and on () count(up offset 26h) > 0)')).toEqual([
      'a_seconds',
      'b',
      'up',
    ]);
  });
});

describe('operations files: against the running service', () => {
  let t: TestApp;
  let metricsText: string;
  let work: string;
  let prometheus: ChildProcess | undefined;
  let prometheusOut = '';
  let prometheusExit: string | undefined;
  let prometheusUrl: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'teddy-ops-'));
    // Not the defaults, so the gauges the alert thresholds read are seen to follow the configuration.
    t = await startApp({ env: { METRICS_TOKEN, RETENTION_DAYS: '7', CLEANUP_CRON: '0 */6 * * *' } });
    // One cleanup run and one notice run, so every job series has a sample (durations, last success).
    const cleanup = await t.http.post('/admin/scheduler/cleanup/trigger').set(t.as('operator')).send({}).expect(200);
    expect(cleanup.body.run.status).toBe('succeeded');
    const notices = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
    expect(notices.body.run.status).toBe('succeeded');
    await t.http.get('/metrics').expect(401); // METRICS_TOKEN is set: Prometheus must send it
    metricsText = (await t.http.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200)).text;
  }, 60_000);

  afterAll(async () => {
    if (prometheus && prometheusExit === undefined) {
      const exited = new Promise((done) => prometheus!.once('exit', done));
      prometheus.kill('SIGTERM');
      const timer = setTimeout(() => prometheus!.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('passes promtool check metrics on the whole page', async () => {
    // The service's own metrics: no problem at all.
    const own = await promtool(['check', 'metrics'], teddyOnly(metricsText));
    expectSuccess('promtool check metrics (teddy_ metrics)', own);

    // The whole page, prom-client's defaults included (MetricsModule drops the three it would lint).
    expectSuccess('promtool check metrics (the whole page)', await promtool(['check', 'metrics'], metricsText));
  }, 60_000);

  it("exports the configured retention and each job's longest wait between fires, which the alert thresholds add up", () => {
    const sample = (name: string) =>
      metricsText
        .split('\n')
        .find((line) => line.startsWith(`${name} `))
        ?.slice(name.length + 1);
    expect(sample('teddy_retention_seconds')).toBe(String(7 * 86_400));
    expect(sample('teddy_job_interval_seconds{job_id="daily_data_cleanup"}')).toBe(String(6 * 3600));
    expect(sample('teddy_job_interval_seconds{job_id="cleanup_notifications"}')).toBe(String(86_400)); // NOTIFY_CRON's default
  });

  it("drops a job's interval while it is paused, and follows a new cron", async () => {
    const interval = async () => {
      const text = (await t.http.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200)).text;
      return /^teddy_job_interval_seconds\{job_id="cleanup_notifications"\} (\S+)$/m.exec(text)?.[1];
    };
    const job = '/admin/scheduler/jobs/cleanup_notifications';
    await t.http.patch(job).set(t.as('operator')).send({ paused: true }).expect(200);
    expect(await interval()).toBeUndefined();
    await t.http.patch(job).set(t.as('operator')).send({ paused: false, cron: '0 11,23 * * *' }).expect(200);
    expect(await interval()).toBe(String(12 * 3600));
    await t.http.patch(job).set(t.as('operator')).send({ cron: '0 23 * * *' }).expect(200);
    expect(await interval()).toBe(String(86_400));
  });

  it('exports every metric the Grafana dashboard and the alert rules use', () => {
    const page = exported(metricsText);
    const used: { where: string; name: string }[] = [];
    const shape: string[] = [];
    const panels = dashboardPanels();
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const panel of panels) {
      if (panel.datasource?.uid !== '${datasource}') shape.push(`panel "${panel.title}": datasource is not the $datasource variable`);
      if (!panel.targets?.length) shape.push(`panel "${panel.title}": no query`);
      for (const target of panel.targets ?? []) {
        const names = metricNames(target.expr ?? '');
        if (!names.length) shape.push(`panel "${panel.title}" ${target.refId}: no metric in ${JSON.stringify(target.expr)}`);
        used.push(...names.map((name) => ({ where: `panel "${panel.title}" ${target.refId}`, name })));
      }
    }
    expect(shape).toEqual([]);
    for (const rule of alertRules()) used.push(...metricNames(rule.expr).map((name) => ({ where: `alert ${rule.alert}`, name })));
    const problems = used.map((u) => ({ ...u, problem: notExported(u.name, page) })).filter((u) => u.problem);
    expect(problems).toEqual([]);
    // Every family the dashboard is about is there.
    for (const name of [
      'teddy_job_runs_total',
      'teddy_job_duration_seconds_bucket',
      'teddy_cleanup_deleted_total',
      'teddy_notices_total',
    ]) {
      expect(used.map((u) => u.name)).toContain(name);
    }
  });

  it('is scraped by a real Prometheus run with prometheus.yml, which loads and evaluates the alert rules', async () => {
    const binary = tool('prometheus');
    const server = t.app.getHttpServer();
    await t.app.listen(0, '127.0.0.1');
    const servicePort = (server.address() as AddressInfo).port;

    // prometheus.yml as shipped, with the target pointed at this service, faster intervals, and the
    // bearer token it documents for METRICS_TOKEN. alerts.yml is copied beside it (rule_files is relative).
    const config = load(readFileSync(PROMETHEUS_YML, 'utf8')) as any;
    expect(config.rule_files).toEqual(['alerts.yml']);
    const scrape = config.scrape_configs.find((s: any) => s.job_name === JOB);
    expect(scrape).toEqual(expect.objectContaining({ metrics_path: '/metrics', static_configs: [{ targets: ['localhost:3000'] }] }));
    config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
    scrape.static_configs = [{ targets: [`127.0.0.1:${servicePort}`] }];
    writeFileSync(join(work, 'metrics-token'), METRICS_TOKEN);
    scrape.authorization = { type: 'Bearer', credentials_file: join(work, 'metrics-token') };
    writeFileSync(join(work, 'prometheus.yml'), dump(config));
    copyFileSync(ALERTS_YML, join(work, 'alerts.yml'));

    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      binary,
      [
        `--config.file=${join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d: Buffer) => (prometheusOut += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (prometheusOut += d.toString()));
    prometheus.on('exit', (code, signal) => (prometheusExit = `exited (${code ?? signal})`));
    const died = () => (prometheusExit ? `prometheus ${prometheusExit}:\n${prometheusOut.slice(-4000)}` : undefined);

    const api = async (path: string): Promise<any> => {
      const res = await fetch(`${prometheusUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
      const body = (await res.json()) as { status: string; data: any; error?: string };
      if (body.status !== 'success') throw new Error(`${path}: ${res.status} ${body.error}`);
      return body.data;
    };
    const query = (promql: string) => api(`/api/v1/query?query=${encodeURIComponent(promql)}`);

    await waitFor(
      'Prometheus to be ready',
      async () => ((await fetch(`${prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined),
      30_000,
      died,
    );

    // The target is up: the scrape (with the token) works.
    await waitFor(
      `up{job="${JOB}"} == 1`,
      async () => {
        const data = await query(`up{job="${JOB}"}`);
        return data.result.length === 1 && data.result[0].value[1] === '1' ? true : undefined;
      },
      30_000,
      died,
    );
    const targets = await api('/api/v1/targets?state=active');
    expect(targets.activeTargets.map((x: any) => ({ job: x.labels.job, health: x.health, url: x.scrapeUrl }))).toEqual([
      { job: JOB, health: 'up', url: `http://127.0.0.1:${servicePort}/metrics` },
    ]);

    // The job series are stored, with the runs triggered above.
    const runs = await query('teddy_job_runs_total');
    const byKey = new Map(runs.result.map((r: any) => [`${r.metric.job_id}/${r.metric.status}`, Number(r.value[1])]));
    expect(byKey.get('daily_data_cleanup/succeeded')).toBe(1);
    expect(byKey.get('cleanup_notifications/succeeded')).toBe(1);
    expect(byKey.get('daily_data_cleanup/failed')).toBe(0);
    expect(runs.result.every((r: any) => r.metric.job === JOB)).toBe(true);

    // Every teddy_ series name of /metrics is in Prometheus.
    const stored = await query('count by (__name__) ({__name__=~"teddy_.+"})');
    const storedNames = new Set(stored.result.map((r: any) => r.metric.__name__));
    expect([...exported(metricsText).samples].filter((n) => n.startsWith('teddy_') && !storedNames.has(n))).toEqual([]);

    // The alert rules are loaded and evaluate without error on the real series.
    const expected = alertRules()
      .map((r) => r.alert)
      .sort();
    const rules = await waitFor(
      'every alert rule to be evaluated',
      async () => {
        const data = await api('/api/v1/rules?type=alert');
        const all = data.groups.flatMap((g: any) => g.rules);
        return all.length === expected.length && all.every((r: any) => r.health !== 'unknown') ? all : undefined;
      },
      30_000,
      died,
    );
    expect(rules.map((r: any) => r.name).sort()).toEqual(expected);
    expect(rules.filter((r: any) => r.health !== 'ok').map((r: any) => ({ name: r.name, health: r.health, error: r.lastError }))).toEqual(
      [],
    );
    // A healthy service that just ran both jobs raises no alert.
    const alerts = await api('/api/v1/alerts');
    expect(alerts.alerts.filter((a: any) => a.state === 'firing').map((a: any) => a.labels.alertname)).toEqual([]);

    // Every dashboard query is valid PromQL for this Prometheus.
    const invalid: string[] = [];
    for (const panel of dashboardPanels()) {
      for (const target of panel.targets ?? []) {
        try {
          await query(withoutGrafanaVariables(target.expr ?? ''));
        } catch (error) {
          invalid.push(`panel "${panel.title}" ${target.refId}: ${String(error)}`);
        }
      }
    }
    expect(invalid).toEqual([]);
  }, 120_000);
});
