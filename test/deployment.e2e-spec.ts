import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';

// No Docker engine runs here, so the images are never built in CI. These checks keep the files
// honest against the code: what the Dockerfile runs exists, and the compose file wires two
// replicas to PostgreSQL.
const ROOT = resolve(__dirname, '..');
const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');

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
      for (const path of line.replace(/^COPY /, '').split(/\s+/).slice(0, -1)) {
        expect(existsSync(resolve(ROOT, path))).toBe(true);
      }
    }
  });

  it('docker-compose.yml: PostgreSQL and two replicas using it, each health-gated and in production mode', () => {
    const compose = load(readFileSync(resolve(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image?: string; build?: string; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; ports?: string[] }>;
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
});
