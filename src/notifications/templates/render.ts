import type { Locale } from '../../records/guardian.entity';
import type { NoticeGroup } from '../notice.entity';
import { ar } from './ar';
import { en } from './en';
import { Template } from './template';

const TEMPLATES: Record<Locale, Template> = { en, ar };

export interface NoticeContent {
  locale: Locale;
  guardianName: string;
  /** IANA zone the dates are written in (the guardian's, fixed when the notice was made). */
  timeZone: string;
  /** Per child and deletion date, in date order. */
  groups: NoticeGroup[];
  /** Some of it is deleted less than `daysBefore` days after the notice. */
  shortNotice: boolean;
  daysBefore: number;
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
const formatters = new Map<string, { date: Intl.DateTimeFormat; day: Intl.DateTimeFormat; number: Intl.NumberFormat }>();

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
      day: new Intl.DateTimeFormat(lang, { numberingSystem: 'latn', weekday: 'long', month: 'long', day: 'numeric', timeZone }),
      number: new Intl.NumberFormat(lang, { numberingSystem: 'latn' }),
    };
    formatters.set(key, f);
  }
  return f;
}

/** Subject, plain-text part and HTML part of a notice, in the guardian's language: a list per deletion date, a line per child. */
export function renderNotice(content: NoticeContent): RenderedNotice {
  const t = TEMPLATES[content.locale] ?? en;
  const f = formattersFor(t.lang, content.timeZone);
  const count = (n: number) => f.number.format(n);
  const days: { heading: string; lines: string[] }[] = [];
  for (const g of content.groups) {
    const heading = f.day.format(new Date(g.deleteAt));
    if (days[days.length - 1]?.heading !== heading) days.push({ heading, lines: [] });
    days[days.length - 1].lines.push(`${t.child(g.displayName, g.messages, g.conversations, count)}${g.late ? ` ${t.late}` : ''}`);
  }
  const first = content.groups.reduce(
    (a, g) => (g.deleteAt < a ? g.deleteAt : a),
    content.groups[0]?.deleteAt ?? new Date(0).toISOString(),
  );
  const total = content.groups.reduce((n, g) => n + g.messages, 0);
  const subject = t.subject(total, count, days[0]?.heading ?? '', days.length > 1);
  const intro = t.intro(f.date.format(new Date(first)));
  const warning = content.shortNotice ? t.shortNotice(content.daysBefore, count) : undefined;

  const text = [
    t.greeting(content.guardianName),
    '',
    intro,
    ...(warning ? ['', warning] : []),
    ...days.flatMap((d) => ['', `${d.heading}:`, ...d.lines.map((l) => `- ${l}`)]),
    '',
    t.outro,
    '',
    t.signature,
    '',
  ].join('\n');

  const e = escapeHtml;
  const html = `<!DOCTYPE html>
<html lang="${t.lang}" dir="${t.dir}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${e(subject)}</title></head>
<body dir="${t.dir}" style="font-family: sans-serif; line-height: 1.5">
<p>${e(t.greeting(content.guardianName))}</p>
<p>${e(intro)}</p>
${warning ? `<p><strong>${e(warning)}</strong></p>\n` : ''}${days.map((d) => `<h3>${e(d.heading)}</h3>\n<ul>\n${d.lines.map((l) => `<li>${e(l)}</li>`).join('\n')}\n</ul>`).join('\n')}
<p>${e(t.outro)}</p>
<p>${e(t.signature)}</p>
</body>
</html>
`;
  return { subject, text, html };
}
