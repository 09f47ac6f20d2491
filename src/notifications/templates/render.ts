import type { Locale } from '../../records/guardian.entity';
import type { ChildCounts } from '../notice.entity';
import { ar } from './ar';
import { en } from './en';
import { Template } from './template';

const TEMPLATES: Record<Locale, Template> = { en, ar };

export interface NoticeContent {
  locale: Locale;
  guardianName: string;
  cleanupAt: Date;
  /** IANA zone the deletion time is shown in (SCHEDULER_TIMEZONE). */
  timeZone: string;
  children: ChildCounts[];
}

export interface RenderedNotice {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
}

// Building an Intl formatter costs far more than using one; a delivery batch renders thousands.
const formatters = new Map<string, { date: Intl.DateTimeFormat; number: Intl.NumberFormat }>();

/** The date and number formats of a language and zone, made once. */
export function formattersFor(lang: string, timeZone: string) {
  const key = `${lang} ${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    // Latin digits in every language, pinned rather than left to the runtime's locale data: CLDR's `ar` has
    // used them since v42 (before, Arabic-Indic), and `ar-EG` still uses Arabic-Indic. Notices to Arabic readers
    // mix their Arabic month names with the Latin digits that the app, the toy and most e-mail clients
    // show them for times and counts, and a date must not change shape with a Node upgrade.
    f = {
      date: new Intl.DateTimeFormat(lang, {
        numberingSystem: 'latn',
        weekday: 'long',
        year: 'numeric',
        month: 'long',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        timeZoneName: 'short',
        timeZone,
      }),
      number: new Intl.NumberFormat(lang, { numberingSystem: 'latn' }),
    };
    formatters.set(key, f);
  }
  return f;
}

/** The deletion time in the guardian's language, e.g. "Wednesday, December 2, 2026 at 12:00 AM UTC". */
export function formatDeletionTime(at: Date, locale: Locale, timeZone: string): string {
  return formattersFor((TEMPLATES[locale] ?? en).lang, timeZone).date.format(at);
}

/** Subject, plain-text part and HTML part of a notice, in the guardian's language. */
export function renderNotice(content: NoticeContent): RenderedNotice {
  const t = TEMPLATES[content.locale] ?? en;
  const f = formattersFor(t.lang, content.timeZone);
  const date = f.date.format(content.cleanupAt);
  const count = (n: number) => f.number.format(n);
  const lines = content.children.map((c) => t.child(c, count));

  const text = [
    t.greeting(content.guardianName),
    '',
    t.intro(date),
    '',
    ...lines.map((l) => `- ${l}`),
    '',
    t.outro,
    '',
    t.signature,
    '',
  ].join('\n');

  const e = escapeHtml;
  const html = `<!DOCTYPE html>
<html lang="${t.lang}" dir="${t.dir}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${e(t.subject(date))}</title></head>
<body dir="${t.dir}" style="font-family: sans-serif; line-height: 1.5">
<p>${e(t.greeting(content.guardianName))}</p>
<p>${e(t.intro(date))}</p>
<ul>
${lines.map((l) => `<li>${e(l)}</li>`).join('\n')}
</ul>
<p>${e(t.outro)}</p>
<p>${e(t.signature)}</p>
</body>
</html>
`;
  return { subject: t.subject(date), text, html };
}
