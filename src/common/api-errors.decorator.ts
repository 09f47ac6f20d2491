import { applyDecorators } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiNotFoundResponse, ApiPayloadTooLargeResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto';

type Documented = 400 | 404 | 409 | 413;

const responses: Record<Documented, MethodDecorator> = {
  400: ApiBadRequestResponse({ description: 'Invalid input; the message names the field', type: ErrorResponseDto }),
  404: ApiNotFoundResponse({ description: 'The parent record does not exist', type: ErrorResponseDto }),
  409: ApiConflictResponse({ description: 'Conflicts with existing data', type: ErrorResponseDto }),
  413: ApiPayloadTooLargeResponse({ description: 'The body is over BODY_LIMIT', type: ErrorResponseDto }),
};

/** Documents a route's error answers, all in the one error shape. */
export const ApiErrors = (...codes: Documented[]) => applyDecorators(...codes.map((c) => responses[c]));
