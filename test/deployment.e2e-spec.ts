import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { load, loadAll } from 'js-yaml';
import { Env } from '../src/config/env.validation';
import { builtinJobs } from '../src/scheduler/jobs';
import { TaskRegistry } from '../src/scheduler/tasks';
import { startApp, TestApp } from './support/app';
import { TEST_DB } from './support/databases';

// No Docker engine or cluster runs here, so the images are never built in CI and the manifests never
// applied. These checks keep the files honest against the code: what the Dockerfile, the Deployment
// and the CronJobs run exists, the probes answer, the compose file wires two replicas to PostgreSQL
// and its monitoring profile to them.
const ROOT = resolve(__dirname, '..');
const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
const K8S = resolve(ROOT, 'deploy/kubernetes');

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec: any; stringData?: Record<string, string> };

/** The manifests a kustomization directory lists (recursively), with its patches as written. */
function kustomize(dir: string): { manifests: Manifest[]; patches: { target: { kind: string; name: string }; patch: string }[] } {
  const kustomization = load(readFileSync(resolve(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[]; patches?: any[] };
  const out = { manifests: [] as Manifest[], patches: [...(kustomization.patches ?? [])] };
  for (const entry of kustomization.resources) {
    const path = resolve(dir, entry);
    if (existsSync(resolve(path, 'kustomization.yaml'))) {
      const inner = kustomize(path);
      out.manifests.push(...inner.manifests);
      out.patches.push(...inner.patches);
    } else {
      out.manifests.push(...(loadAll(readFileSync(path, 'utf8')) as Manifest[]));
    }
  }
  return out;
}

const one = (manifests: Manifest[], kind: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found.map((m) => m.kind)).toEqual([kind]);
  return found[0];
};

/** A container's env as a map (literal values only). */
const envOf = (container: any): Record<string, string> => Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));

/** Every variable the Env class validates, optional ones included. */
const KNOWN_VARIABLES = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(Env, '', true, false)
    .map((m) => m.propertyName),
);

/** The uid the Dockerfile gives its runtime user. */
const imageUid = Number(/useradd [^\n]*--uid (\d+)[^\n]* teddy/.exec(dockerfile)?.[1]);

describe('deployment files', () => {
  it('Dockerfile: multi-stage, production dependencies only, non-root, health-checked, runs the built entry point', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER teddy$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health\/ready/);
    const cmd = /^CMD \["node", "([^"]+)"\]$/m.exec(dockerfile);
    expect(cmd).not.toBeNull();
    expect(existsSync(resolve(ROOT, cmd![1]))).toBe(true);
    // Every file the build stage copies must exist in the repository.
    for (const line of dockerfile.match(/^COPY (?!--from)(.+) \.\/?\S*$/gm) ?? []) {
      for (const path of line
        .replace(/^COPY /, '')
        .split(/\s+/)
        .slice(0, -1)) {
        expect(existsSync(resolve(ROOT, path))).toBe(true);
      }
    }
  });

  it('docker-compose.yml: PostgreSQL and two replicas using it, each health-gated and in production mode', () => {
    const compose = load(readFileSync(resolve(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<
        string,
        {
          image?: string;
          build?: string;
          environment?: Record<string, string>;
          depends_on?: Record<string, { condition: string }>;
          ports?: string[];
        }
      >;
    };
    expect(compose.services.postgres.image).toMatch(/^postgres:/);
    const replicas = Object.entries(compose.services).filter(([, s]) => s.build === '.');
    expect(replicas.map(([name]) => name)).toEqual(['teddy-1', 'teddy-2']);
    for (const [, service] of replicas) {
      expect(service.environment?.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
      expect(service.environment?.NODE_ENV).toBe('production');
      expect(service.depends_on?.postgres.condition).toBe('service_healthy');
    }
    expect(new Set(replicas.map(([, s]) => s.ports?.[0])).size).toBe(2);
  });

  describe('Kubernetes manifests (deploy/kubernetes)', () => {
    const { manifests } = kustomize(K8S);
    const deployment = one(manifests, 'Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const env = envOf(container);
    let t: TestApp;

    beforeAll(async () => {
      t = await startApp();
    });
    afterAll(async () => {
      await t?.close();
    });

    it("Deployment: 2 replicas running the Dockerfile's command, whose file is built", () => {
      expect(deployment.spec.replicas).toBe(2);
      expect(pod.containers).toHaveLength(1);
      const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)![1];
      expect(container.command).toEqual(JSON.parse(cmd));
      expect(existsSync(resolve(ROOT, container.command[1]))).toBe(true);
      expect(env.NODE_ENV).toBe('production');
    });

    it('Deployment: its probes are routes the service answers 200, on the port it listens on', async () => {
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
        await t.http.get(probe.httpGet.path).expect(200);
        const port = container.ports.find((p: any) => p.name === probe.httpGet.port || p.containerPort === probe.httpGet.port);
        expect(port?.containerPort).toBe(Number(env.PORT ?? new Env().PORT));
      }
    });

    it('Deployment: the grace period outlasts the preStop pause plus SHUTDOWN_TIMEOUT_MS (as set, and its default)', () => {
      const grace = pod.terminationGracePeriodSeconds;
      const preStop = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
      expect(env.SHUTDOWN_TIMEOUT_MS).toMatch(/^\d+$/);
      expect(grace).toBeGreaterThan(preStop + Number(env.SHUTDOWN_TIMEOUT_MS) / 1000);
      expect(grace).toBeGreaterThan(preStop + new Env().SHUTDOWN_TIMEOUT_MS / 1000);
    });

    it("Deployment: runs as the image's non-root user, with resources, every variable one the service knows", () => {
      expect(imageUid).toBeGreaterThan(0);
      expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, runAsUser: imageUid, runAsGroup: imageUid }));
      expect(container.securityContext).toEqual(expect.objectContaining({ allowPrivilegeEscalation: false }));
      expect(container.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
      expect(container.resources.limits.memory).toEqual(expect.any(String));
      expect(Object.keys(env).filter((name) => !KNOWN_VARIABLES.has(name))).toEqual([]);
    });

    it("Service and PodDisruptionBudget select the Deployment's pods; the budget keeps one of two", () => {
      const labels = deployment.spec.template.metadata.labels;
      expect(deployment.spec.selector.matchLabels).toEqual(labels);
      const service = one(manifests, 'Service');
      expect(service.spec.selector).toEqual(labels);
      expect(container.ports.map((p: any) => p.name)).toContain(service.spec.ports[0].targetPort);
      const pdb = one(manifests, 'PodDisruptionBudget');
      expect(pdb.spec.selector.matchLabels).toEqual(labels);
      expect(pdb.spec.minAvailable).toBe(1);
    });

    it('Secret template: names the Secret the pods read, and only variables the service knows', () => {
      const secret = load(readFileSync(resolve(K8S, 'secret.template.yaml'), 'utf8')) as Manifest;
      expect(secret.kind).toBe('Secret');
      expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
      const keys = Object.keys(secret.stringData ?? {});
      const expected = ['DATABASE_URL', 'ADMIN_API_KEY', 'VIEWER_API_KEY', 'INGEST_API_KEY', 'METRICS_TOKEN', 'NOTIFY_WEBHOOK_SECRET'];
      expect(keys).toEqual(expect.arrayContaining(expected));
      expect(keys.filter((k) => !KNOWN_VARIABLES.has(k))).toEqual([]);
      // Not applied with the kustomization, which would overwrite the real Secret with placeholders.
      expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    });

    it('CronJob variant: the Deployment without its scheduler, and a CronJob running each built-in job on its schedule', () => {
      const variant = kustomize(resolve(K8S, 'cronjob'));
      const patched = variant.patches.filter((p) => p.target.kind === 'Deployment' && p.target.name === deployment.metadata.name);
      expect(patched.flatMap((p) => load(p.patch) as any[])).toEqual([
        { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'SCHEDULER_ENABLED', value: 'false' } },
      ]);
      expect(one(variant.manifests, 'Deployment')).toEqual(deployment);

      const defaults = new Env();
      const scheduled = { ...defaults, ...env } as unknown as Env;
      // Every @Cron-declared method of the service, with the schedule the Deployment's variables give it.
      const builtins = builtinJobs(t.app.get(TaskRegistry).list(), scheduled);
      // The manifests deploy on PostgreSQL (secret.template.yaml), where the service also declares
      // message_partitions; an app on SQLite has no such job, so its CronJob is checked on PostgreSQL only.
      const cronJobs = variant.manifests
        .filter((m) => m.kind === 'CronJob')
        .filter((m) => TEST_DB === 'postgres' || m.metadata.name !== 'teddy-message-partitions');
      const ran: string[] = [];
      for (const cronJob of cronJobs) {
        const jobPod = cronJob.spec.jobTemplate.spec.template.spec;
        const [job] = jobPod.containers;
        expect(job.command.slice(0, 2)).toEqual(['node', 'dist/src/cli/job.js']);
        expect(existsSync(resolve(ROOT, job.command[1]))).toBe(true);
        const builtin = builtins.find((b) => b.id === job.command[2]);
        const which = { cronJob: cronJob.metadata.name, jobId: job.command[2] };
        expect({ ...which, builtin: !!builtin }).toEqual({ ...which, builtin: true });
        ran.push(builtin!.id);
        // The same schedule as the stored job, which the notices and the alert thresholds read.
        expect(cronJob.spec.schedule).toBe(builtin!.cron);
        expect(cronJob.spec.timeZone).toBe(builtin!.timezone);
        const jobEnv = envOf(job);
        for (const name of ['NODE_ENV', 'CLEANUP_CRON', 'NOTIFY_CRON', 'SCHEDULER_TIMEZONE']) {
          expect({ name, value: jobEnv[name] }).toEqual({ name, value: env[name] });
        }
        expect(job.envFrom).toEqual(container.envFrom);
        expect(jobPod.securityContext).toEqual(pod.securityContext);
        expect(cronJob.spec.concurrencyPolicy).toBe('Forbid');
      }
      // Without the in-process scheduler, nothing else would run a job left out (the notices above all).
      expect(ran.sort()).toEqual(builtins.map((b) => b.id).sort());
    });
  });

  describe('docker-compose.yml: the monitoring profile', () => {
    const compose = load(readFileSync(resolve(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image?: string; build?: string; profiles?: string[]; command?: string[]; volumes?: string[] }>;
    };
    const monitoring = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('monitoring'));
    const replicas = Object.entries(compose.services)
      .filter(([, s]) => s.build === '.')
      .map(([name]) => name);
    /** The repository files a service mounts, by their path in the container. */
    const mounts = (service: string) =>
      new Map(
        (compose.services[service].volumes ?? [])
          .filter((v) => v.startsWith('./'))
          .map((v) => v.split(':'))
          .map(([source, target]) => [target, resolve(ROOT, source)]),
      );

    it('starts Prometheus and Grafana, only with the profile, mounting files that exist', () => {
      expect(monitoring.map(([name]) => name).sort()).toEqual(['grafana', 'prometheus']);
      for (const [name] of monitoring) {
        expect({ name, image: compose.services[name].image }).toEqual({ name, image: expect.stringMatching(/^[\w/-]+:v?\d+\.\d+\.\d+$/) });
        for (const [target, source] of mounts(name)) {
          expect({ target, source, exists: existsSync(source) }).toEqual({ target, source, exists: true });
        }
      }
    });

    it('Prometheus: its configuration scrapes the compose replicas on their port and loads the mounted alerts.yml', async () => {
      const configFlag = compose.services.prometheus.command!.find((a) => a.startsWith('--config.file='))!;
      const configPath = configFlag.slice('--config.file='.length);
      const files = mounts('prometheus');
      const configFile = files.get(configPath)!;
      expect(configFile).toBeDefined();
      const config = load(readFileSync(configFile, 'utf8')) as any;
      const scrape = config.scrape_configs.find((s: any) => s.job_name === 'teddy-scheduler');
      const targets: string[] = scrape.static_configs.flatMap((c: any) => c.targets);
      expect(targets.map((t) => t.split(':')[0]).sort()).toEqual([...replicas].sort());
      expect(targets.every((t) => Number(t.split(':')[1]) === new Env().PORT)).toBe(true);
      // rule_files are read relative to the configuration's directory: in the container, and in the repository.
      for (const rule of config.rule_files as string[]) {
        const inContainer = posix.resolve(posix.dirname(configPath), rule);
        expect(files.get(inContainer)).toBe(resolve(ROOT, 'ops/prometheus/alerts.yml'));
        expect(resolve(dirname(configFile), rule)).toBe(files.get(inContainer));
      }
      // So promtool, run on the repository's file, checks what the container loads. (Debian's
      // "prometheus" package ships it; .ci/run installs it.)
      const promtool = spawnSync('promtool', ['check', 'config', configFile], { encoding: 'utf8' });
      if (promtool.error) throw new Error(`promtool: ${promtool.error.message} (apt-get install -y --no-install-recommends prometheus)`);
      const ran = { code: promtool.status, output: promtool.stdout + promtool.stderr };
      expect(ran).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
    });

    it('Grafana: provisions the compose Prometheus as its data source, and the mounted dashboard', () => {
      const files = mounts('grafana');
      const datasources = [...files].filter(([target]) => target.startsWith('/etc/grafana/provisioning/datasources/'));
      const providers = [...files].filter(([target]) => target.startsWith('/etc/grafana/provisioning/dashboards/'));
      expect([datasources.length, providers.length]).toEqual([1, 1]);
      const ds = (load(readFileSync(datasources[0][1], 'utf8')) as any).datasources;
      expect(ds).toEqual([expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true })]);
      const provider = (load(readFileSync(providers[0][1], 'utf8')) as any).providers[0];
      const dashboard = [...files].find(([, source]) => source === resolve(ROOT, 'ops/grafana/teddy-scheduler.json'));
      expect(dashboard).toBeDefined();
      expect(posix.dirname(dashboard![0])).toBe(provider.options.path);
    });
  });
});
