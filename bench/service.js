// What the benchmarks that start the built service as a child process share: its API keys, a free
// loopback port, and an environment that nothing from the caller's shell or a .env can change.
const net = require('node:net');

const KEYS = {
  operator: 'bench-operator-key-0000000001',
  viewer: 'bench-viewer-key-00000000000002',
  ingest: 'bench-ingest-key-00000000000003',
};

const freePort = () =>
  new Promise((res, rej) => {
    const srv = net.createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });

/** The service's environment on `url` and `port`: scheduler and notice worker off, warnings only. */
function serviceEnv(url, port) {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (/^(DATABASE_URL|ENV_FILE|NODE_ENV|METRICS_TOKEN|CLEANUP_|SCHEDULER_|LOG_|NOTICE_|RETENTION_DAYS|DB_POOL)/.test(k)) delete env[k];
  return {
    ...env,
    DATABASE_URL: url,
    ADMIN_API_KEY: KEYS.operator,
    VIEWER_API_KEY: KEYS.viewer,
    INGEST_API_KEY: KEYS.ingest,
    PORT: String(port),
    HOST: '127.0.0.1',
    SCHEDULER_ENABLED: 'false',
    NOTICE_POLL_SECONDS: '0',
    LOG_LEVEL: 'warn',
    LOG_FILE: '',
    LOG_HTTP_REQUESTS: 'false',
  };
}

module.exports = { KEYS, freePort, serviceEnv };
