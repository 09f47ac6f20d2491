import { applyDecorators } from '@nestjs/common';
import { Matches } from 'class-validator';

// Full ISO-8601 with an explicit offset: a time without one would be read in the server's zone.
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

export const IsTimestamp = () =>
  applyDecorators(
    Matches(ISO_WITH_OFFSET, {
      message: ({ property }) => `${property} must be an ISO-8601 date-time with an offset, e.g. 2026-11-28T09:30:00Z`,
    }),
  );
