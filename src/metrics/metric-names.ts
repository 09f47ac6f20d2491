/** Metric names kept from the original service, and the error types it counted. */
export const APPLICATION_ERRORS = 'teddy_application_errors_total';
export const ERROR_TYPES = ['scheduled_cleanup', 'scheduled_notifications', 'scheduled_job', 'http'] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export const HTTP_DURATION = 'teddy_http_request_duration_seconds';
