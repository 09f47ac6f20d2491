import type { NextFunction, Request, Response } from 'express';
import type { Histogram } from 'prom-client';

/**
 * Times every request, including those refused by the guard or matching no route. The route label is
 * the matched route pattern (never the raw path, whose ids would explode the series count).
 */
export function httpMetricsMiddleware(histogram: Histogram<'method' | 'route' | 'status_code'>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = histogram.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}
