import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { getToken } from '@willsoto/nestjs-prometheus';
import express, { NextFunction, Request, Response } from 'express';
import { Logger, Params, PARAMS_PROVIDER_TOKEN } from 'nestjs-pino';
import { AppModule, AppOptions } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { assignRequestId, requestLogging } from './common/logging';
import { applySecurityHeaders, HELMET_OPTIONS, securityHeaders } from './common/security-headers';
import { AppErrors } from './metrics/app-errors.service';
import { httpTiming } from './metrics/http-metrics.middleware';
import { HTTP_DURATION } from './metrics/metric-names';
import { setupSwagger } from './openapi';

const MAX_BODY_DEPTH = 32;

/** What is wrong with a request's path or body shape, if anything (see createApp). */
export function requestShapeProblem(req: { path: string; body?: unknown }): string | undefined {
  // Only a % can make a segment undecodable.
  for (const segment of req.path.includes('%') ? req.path.split('/') : []) {
    try {
      decodeURIComponent(segment);
    } catch {
      return `path: "${segment.slice(0, 60)}" is not valid percent-encoding`;
    }
  }
  const body = req.body;
  if (body === undefined || body === null || typeof body !== 'object') return undefined;
  if (Array.isArray(body)) return 'body must be a JSON object, not an array';
  // Iterative, so that measuring the depth cannot itself overflow the stack.
  const stack: [unknown, number][] = [[body, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > MAX_BODY_DEPTH) return `body is nested more than ${MAX_BODY_DEPTH} levels deep`;
    if (value && typeof value === 'object')
      for (const child of Object.values(value)) if (child && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return undefined;
}

function trustProxy(value: string): boolean | number {
  return value === 'true' ? true : value === 'false' ? false : Number(value);
}

/**
 * Builds the whole HTTP application (global pipes, filters, middleware, Swagger) the same way for
 * main.ts and for the e2e tests, so the tests exercise what ships.
 */
export async function createApp(options: AppOptions): Promise<NestExpressApplication> {
  const { env } = options;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.set('trust proxy', trustProxy(env.TRUST_PROXY));
  app.disable('x-powered-by');
  // No ETag on API answers: Express would hash every JSON body for a header that no client of this API
  // sends back (If-None-Match), and most answers change between two reads anyway.
  app.set('etag', false);
  // helmet's headers (HELMET_OPTIONS), worked out once and set on every response.
  const setSecurityHeaders = applySecurityHeaders(securityHeaders(HELMET_OPTIONS));
  const time = httpTiming(app.get(getToken(HTTP_DURATION)));
  // One middleware for both: each layer costs the router a turn on every request.
  app.use((req: Request, res: Response, next: NextFunction) => {
    setSecurityHeaders(res);
    time(req, res);
    next();
  });

  const filter = new HttpExceptionFilter(app.get(AppErrors));
  app.use(express.json({ limit: env.BODY_LIMIT }));
  // Errors met before Nest routes (and before the logger middleware that assigns the request id)
  // are answered here, in the same shape, with a request id.
  const answer = (err: unknown, req: Request, res: Response) => {
    const body = filter.toBody(err, req);
    body.requestId = assignRequestId(req, res);
    res.status(body.statusCode).json(body);
  };
  // Body-parser failures: malformed JSON, over the limit, an undecodable Content-Encoding.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => answer(err, req, res));
  // Shapes Nest's pipes cannot judge well: a malformed %-escape in the path (Express would answer it
  // outside our error format), a body that is not a JSON object, and nesting deep enough to exhaust
  // the validator's recursion (a 10 KB body of 5,000 brackets).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const problem = requestShapeProblem(req);
    if (problem) answer(new BadRequestException(problem), req, res);
    else next();
  });
  // The request id, the request line and the logging context of the routes (after the body parser, whose
  // stream callbacks would not carry the context).
  app.use(requestLogging(app.get<Params>(PARAMS_PROVIDER_TOKEN)));

  app.useGlobalFilters(filter);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  setupSwagger(app);
  // On SIGTERM: the modules' shutdown (the scheduler waits for its running jobs), then exit 0.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  return app;
}
