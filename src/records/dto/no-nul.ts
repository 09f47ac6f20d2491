import { Matches } from 'class-validator';

/** PostgreSQL text cannot hold U+0000; refuse it as bad input on both databases rather than fail on one. */
export const NoNul = () =>
  Matches(/^[^\u0000]*$/, { message: ({ property }) => `${property} must not contain NUL (\\u0000) characters` });
