import type { ChildCounts } from '../notice.entity';

/** The words of one language. Every function returns plain text; the renderer escapes it for HTML. */
export interface Template {
  /** BCP 47 tag for Intl and the HTML lang attribute. */
  lang: string;
  dir: 'ltr' | 'rtl';
  subject(date: string): string;
  greeting(guardianName: string): string;
  intro(date: string): string;
  child(counts: ChildCounts, count: (n: number) => string): string;
  outro: string;
  signature: string;
}
