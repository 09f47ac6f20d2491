import { escapeHtml, formattersFor, renderNotice } from './render';

describe('renderNotice', () => {
  const cleanupAt = new Date('2026-12-02T00:00:00Z');
  const children = [
    { childId: 'c1', displayName: 'Omar', messages: 12, conversations: 3 },
    { childId: 'c2', displayName: '<b>Lina</b> & "Co"', messages: 1, conversations: 0 },
  ];

  it('writes English with the counts, the names and the deletion time', () => {
    const r = renderNotice({ locale: 'en', guardianName: 'Layla', cleanupAt, timeZone: 'UTC', children });
    expect(r.subject).toBe('Teddy will delete older conversations on Wednesday, December 2, 2026 at 12:00 AM UTC');
    expect(r.text).toContain('Hello Layla,');
    expect(r.text).toContain('- Omar: 12 messages and 3 conversations');
    expect(r.text).toContain('- <b>Lina</b> & "Co": 1 message and 0 conversations');
    expect(r.html).toContain('<html lang="en" dir="ltr">');
  });

  it('shows the time in SCHEDULER_TIMEZONE', () => {
    const r = renderNotice({ locale: 'en', guardianName: 'Layla', cleanupAt, timeZone: 'Asia/Riyadh', children });
    expect(r.subject).toContain('December 2, 2026 at 3:00 AM GMT+3');
  });

  it('writes Arabic right-to-left, with Arabic plurals and an Arabic date', () => {
    const r = renderNotice({
      locale: 'ar',
      guardianName: 'ليلى',
      cleanupAt,
      timeZone: 'UTC',
      children: [
        { childId: 'c1', displayName: 'عمر', messages: 2, conversations: 1 },
        { childId: 'c2', displayName: 'سارة', messages: 5, conversations: 11 },
      ],
    });
    expect(r.subject).toMatch(/^سيحذف تيدي المحادثات القديمة في الأربعاء، 2 ديسمبر 2026/);
    expect(r.text).toContain('مرحبًا ليلى،');
    expect(r.text).toContain('- عمر: رسالتان ومحادثة واحدة');
    expect(r.text).toContain('- سارة: 5 رسائل و11 محادثة');
    expect(r.html).toContain('<html lang="ar" dir="rtl">');
    expect(r.html).toContain('<body dir="rtl"');
  });

  it('writes Latin digits in Arabic whatever the runtime would choose for the language', () => {
    const r = renderNotice({
      locale: 'ar',
      guardianName: 'ليلى',
      cleanupAt: new Date('2026-12-12T21:00:00Z'),
      timeZone: 'Asia/Riyadh',
      children: [{ childId: 'c1', displayName: 'عمر', messages: 1234, conversations: 12 }],
    });
    expect(r.subject).toContain('13 ديسمبر 2026');
    expect(r.text).toContain('1,234 رسالة');
    // No Arabic-Indic digit (U+0660..U+0669) anywhere.
    expect(`${r.subject}${r.text}`).not.toMatch(/[\u0660-\u0669]/);
    // Pinned, not the runtime's choice: Egyptian Arabic's own default is Arabic-Indic digits.
    expect(new Intl.NumberFormat('ar-EG').format(12)).toBe('١٢');
    const egypt = formattersFor('ar-EG', 'UTC');
    expect([
      egypt.number.format(12),
      egypt.date.formatToParts(new Date('2026-12-12T00:00:00Z')).find((p) => p.type === 'day')?.value,
    ]).toEqual(['12', '12']);
  });

  it('escapes display names in the HTML part only', () => {
    const r = renderNotice({ locale: 'en', guardianName: 'A <script>', cleanupAt, timeZone: 'UTC', children });
    expect(r.html).toContain('&lt;b&gt;Lina&lt;/b&gt; &amp; &quot;Co&quot;');
    expect(r.html).toContain('Hello A &lt;script&gt;,');
    expect(r.html).not.toContain('<b>Lina</b>');
    expect(r.html).not.toContain('<script>');
  });

  it('escapes every HTML special character', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
