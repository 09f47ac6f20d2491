import type { Request, Response } from 'express';
import type { Histogram } from 'prom-client';

/**
 * Nest mounts a module's middleware for all routes (forRoutes('*'), as nestjs-pino's used to be) as an Express
 * route on this catch-all, so it is what req.route holds when no controller route matched the request.
 */
const NEST_MIDDLEWARE_ROUTES = new Set(['/{*path}', '{*path}', '/*path']);

type Labels = 'method' | 'route' | 'status_code';

/**
 * Times a request, including those refused by the guard or matching no route. The route label is the
 * matched route pattern (never the raw path, whose ids would explode the series count).
 */
export function httpTiming(histogram: Histogram<Labels>): (req: Request, res: Response) => void {
  return (req, res) => {
    const started = performance.now();
    res.once('finish', () => {
      const path: unknown = req.route?.path;
      const route = typeof path === 'string' && !NEST_MIDDLEWARE_ROUTES.has(path) ? `${req.baseUrl}${path}` : 'unmatched';
      histogram.observe({ method: req.method, route, status_code: String(res.statusCode) }, (performance.now() - started) / 1000);
    });
  };
}
