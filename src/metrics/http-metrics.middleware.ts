import type { NextFunction, Request, Response } from 'express';
import type { Histogram } from 'prom-client';

/**
 * Nest mounts global middleware (nestjs-pino's forRoutes('*')) as an Express route on this catch-all, so
 * it is what req.route holds when no controller route matched the request.
 */
const NEST_MIDDLEWARE_ROUTES = new Set(['/{*path}', '{*path}', '/*path']);

/**
 * Times every request, including those refused by the guard or matching no route. The route label is
 * the matched route pattern (never the raw path, whose ids would explode the series count).
 */
export function httpMetricsMiddleware(histogram: Histogram<'method' | 'route' | 'status_code'>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = histogram.startTimer();
    res.on('finish', () => {
      const path: unknown = req.route?.path;
      const route = typeof path === 'string' && !NEST_MIDDLEWARE_ROUTES.has(path) ? `${req.baseUrl}${path}` : 'unmatched';
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}
