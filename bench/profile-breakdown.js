#!/usr/bin/env node
// Where a request's CPU goes, from a V8 CPU profile of the service under load (bench/api.js --cpu-prof <dir>):
//   node bench/profile-breakdown.js <file.cpuprofile> [--per-request-us 300]
// Each sample is charged to the innermost frame on its stack that belongs to a pipeline component (helmet,
// the metrics middleware, request logging, the guard, validation, the body parser, ...): a component's
// share includes the Node built-ins it calls (JSON.stringify, setHeader, a write). Node's built-in
// frames count for Node only when nothing else is on the stack. Samples taken while
// idle, in the garbage collector, or during start-up (module loading, Nest's bootstrap) are counted apart.
// With --per-request-us (the server CPU per request bench/api.js measured for that run), each share is
// also given in microseconds per request.
const { readFileSync } = require('node:fs');

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/profile-breakdown.js <file.cpuprofile> [--per-request-us N]');
const i = process.argv.indexOf('--per-request-us');
const perRequestUs = i === -1 ? undefined : Number(process.argv[i + 1]);

const NODE = 'Node HTTP, net, streams, timers (nothing else on the stack)';
/** First match wins when two rules fit the same frame; the innermost matching frame of a stack wins. */
const COMPONENTS = [
  ['helmet / security headers', (u, f) => u.includes('/helmet/') || u.includes('security-headers')],
  ['HTTP metrics (middleware + prom-client)', (u) => u.includes('http-metrics.middleware') || u.includes('/prom-client/')],
  [
    'request logging (pino-http, nestjs-pino, pino, redaction, masking, writes)',
    (u) =>
      /\/(pino|pino-http|pino-std-serializers|fast-redact|@pinojs\/redact|sonic-boom|nestjs-pino|thread-stream|on-exit-leak-free|quick-format-unescaped|fast-safe-stringify|safe-stable-stringify)\//.test(
        u,
      ) ||
      u.includes('/common/logging.js') ||
      u.includes('/common/mask.js') ||
      u.includes('/common/request-log.js'),
  ],
  ['API-key guard (+ Reflector)', (u) => u.includes('/auth/') || u.includes('/core/services/reflector.service.js')],
  [
    'ValidationPipe / class-validator / class-transformer',
    (u) =>
      /\/(class-validator|class-transformer)\//.test(u) || u.includes('/pipes/validation.pipe.js') || u.includes('/common/validation/'),
  ],
  [
    'body parser (express.json)',
    (u) => /\/(body-parser|raw-body|iconv-lite|type-is|content-type|media-typer|bytes|on-finished|unpipe)\//.test(u),
  ],
  ['request-shape middleware', (u, f) => f === 'requestShapeProblem' || (u.endsWith('/app.factory.js') && f !== '')],
  ['error filter', (u) => u.includes('http-exception.filter')],
  [
    'response: express res.json/send (JSON.stringify, ETag, headers)',
    (u) => /\/express\/lib\/response\.js$/.test(u) || /\/(etag|fresh|send|finalhandler)\//.test(u),
  ],
  ['route handlers and services (the app itself)', (u) => u.includes('/dist/src/') || u.includes('/dist/ormconfig')],
  ['database driver (TypeORM, pg, better-sqlite3)', (u) => /\/(typeorm|pg|pg-protocol|pg-pool|pg-types|better-sqlite3)\//.test(u)],
  ['Nest core (router, guards/pipes/interceptors consumers)', (u) => /\/@nestjs\/(core|common|platform-express)\//.test(u)],
  ['Express router', (u) => /\/(express|router|path-to-regexp|parseurl|qs)\//.test(u)],
  [NODE, (u) => u.startsWith('node:')],
];

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const memo = new Map();
function classify(id) {
  if (memo.has(id)) return memo.get(id);
  const stack = [];
  for (let at = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at).callFrame);
  let result;
  const leaf = stack[0];
  if (leaf.functionName === '(idle)' || leaf.functionName === '(program)') result = '(idle / program)';
  else if (leaf.functionName === '(garbage collector)') result = '(garbage collector)';
  else if (stack.some((f) => (f.url ?? '').startsWith('node:internal/modules/') || /bootstrap|NestFactoryStatic/.test(f.functionName)))
    result = '(start-up)';
  else {
    // Node's own frames are charged to whoever called them (helmet's setHeader is helmet's), and to
    // Node only when nothing of the application or its libraries is on the stack (the socket, the parser).
    for (const frame of stack) {
      const hit = COMPONENTS.find(([name, match]) => name !== NODE && match(frame.url ?? '', frame.functionName));
      if (hit) {
        result = hit[0];
        break;
      }
    }
    result ??= stack.some((f) => (f.url ?? '').startsWith('node:')) ? NODE : 'other (native, unattributed)';
  }
  memo.set(id, result);
  return result;
}

const totals = new Map();
profile.samples.forEach((id, k) => {
  const dt = profile.timeDeltas[k] ?? 0;
  const c = classify(id);
  totals.set(c, (totals.get(c) ?? 0) + dt);
});
const busy = [...totals].filter(([c]) => !['(idle / program)', '(start-up)'].includes(c)).reduce((a, [, v]) => a + v, 0);
console.log(`${file}: ${(busy / 1e6).toFixed(1)} s of samples while serving (idle and start-up left out)\n`);
console.log(`| component | share of the busy samples |${perRequestUs ? ' us per request |' : ''}`);
console.log(`|---|---|${perRequestUs ? '---|' : ''}`);
for (const [c, v] of [...totals].sort((a, b) => b[1] - a[1])) {
  if (['(idle / program)', '(start-up)'].includes(c)) continue;
  const share = v / busy;
  console.log(`| ${c} | ${(share * 100).toFixed(1)} % |${perRequestUs ? ` ${Math.round(share * perRequestUs)} |` : ''}`);
}
