import { BadRequestException, PipeTransform } from '@nestjs/common';
import { ApiNotFoundResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto';
import { JOB_ID_PATTERN } from './dto/job.dto';

/** A job id in a path: a 400 naming the rule rather than a lookup of something that cannot exist. */
export class JobIdPipe implements PipeTransform<string, string> {
  transform(id: string): string {
    if (!JOB_ID_PATTERN.test(id)) throw new BadRequestException('id must be a job id: 1-64 characters, lower-case letters, digits, _ . -');
    return id;
  }
}

/** The 404 of a route with a job id in its path. */
export const ApiJobNotFound = ApiNotFoundResponse({ description: 'No such job', type: ErrorResponseDto });
