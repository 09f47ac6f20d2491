import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { getToken } from '@willsoto/nestjs-prometheus';
import express, { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppModule, AppOptions } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { assignRequestId } from './common/logging';
import { AppErrors } from './metrics/app-errors.service';
import { httpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { HTTP_DURATION } from './metrics/metric-names';

function trustProxy(value: string): boolean | number {
  return value === 'true' ? true : value === 'false' ? false : Number(value);
}

function setupSwagger(app: NestExpressApplication): void {
  const config = new DocumentBuilder()
    .setTitle('teddy-scheduler')
    .setDescription(
      "Retention and deletion notices for the Teddy platform's children's data. " +
        'Authorize with an API key: viewer (read the admin API), operator (ADMIN_API_KEY: steer), ingest (the Teddy app).',
    )
    .setVersion(process.env.npm_package_version ?? '0.1.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The API key of your role' }, 'api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'The same key, as `Authorization: Bearer <key>`' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'teddy-scheduler API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
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
  // No upgrade-insecure-requests: it would make browsers fetch /docs assets over https when the
  // service is reached over plain http on a private network, and the UI would not load.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(httpMetricsMiddleware(app.get(getToken(HTTP_DURATION))));

  const filter = new HttpExceptionFilter(app.get(AppErrors));
  app.use(express.json({ limit: env.BODY_LIMIT }));
  // Body-parser failures (malformed JSON, over the limit) happen before Nest routes; answer them in the same shape.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const body = filter.toBody(err, req);
    // Body-parser errors come before the logger middleware that assigns the request id: assign it here.
    body.requestId = assignRequestId(req, res);
    res.status(body.statusCode).json(body);
  });

  app.useGlobalFilters(filter);
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  setupSwagger(app);
  // On SIGTERM: the modules' shutdown (the scheduler waits for its running jobs), then exit 0.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  return app;
}
