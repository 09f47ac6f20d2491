/** Counts as the renderer formats them for one language (Latin digits, grouping). */
export type Count = (n: number) => string;

/** The words of one language. Every function returns plain text; the renderer escapes it for HTML. */
export interface Template {
  /** BCP 47 tag for Intl and the HTML lang attribute. */
  lang: string;
  dir: 'ltr' | 'rtl';
  /** When and how much, in a few words: the total and the first deletion date (and whether more dates follow). */
  subject(messages: number, count: Count, firstDate: string, moreDates: boolean): string;
  greeting(guardianName: string): string;
  /** Opens the list; `firstDeletion` is the date and time of the first deletion. */
  intro(firstDeletion: string): string;
  /** One child's share of one date. */
  child(displayName: string, messages: number, conversations: number, count: Count): string;
  /** After a line of data that arrived after an earlier notice had covered its date. */
  late: string;
  /** When some of it is deleted sooner than the usual notice period. */
  shortNotice(daysBefore: number, count: Count): string;
  outro: string;
  signature: string;
}
