import { NoticeGroup } from '../notice.entity';
import { escapeHtml, formattersFor, renderNotice } from './render';

const group = (displayName: string, deleteAt: string, messages: number, conversations: number, late = false): NoticeGroup => ({
  childId: displayName,
  displayName,
  date: deleteAt.slice(0, 10),
  deleteAt,
  messages,
  conversations,
  late,
});

describe('renderNotice', () => {
  const groups = [
    group('Omar', '2026-12-03T00:00:00.000Z', 12, 3),
    group('<b>Lina</b> & "Co"', '2026-12-03T00:00:00.000Z', 1, 1),
    group('Omar', '2026-12-04T00:00:00.000Z', 5, 1, true),
  ];
  const base = { guardianName: 'Layla', timeZone: 'UTC', groups, shortNotice: false, daysBefore: 2 };

  it('writes English: when and how much in the subject, then each date with a line per child', () => {
    const r = renderNotice({ ...base, locale: 'en' });
    expect(r.subject).toBe('Teddy will delete 18 messages from Thursday, December 3');
    expect(r.text).toContain('Hello Layla,');
    expect(r.text).toContain('the first of it on Thursday, December 3, 2026 at 12:00 AM UTC:');
    expect(r.text).toContain(
      'Thursday, December 3:\n- Omar: 12 messages from 3 conversations\n- <b>Lina</b> & "Co": 1 message from 1 conversation',
    );
    expect(r.text).toContain('Friday, December 4:\n- Omar: 5 messages from 1 conversation (added after our last notice)');
    expect(r.text).not.toContain('notice: it was added');
    expect(r.html).toContain('<html lang="en" dir="ltr">');
    expect(r.html).toContain('<h3>Friday, December 4</h3>');
  });

  it('says "on" for a single date, and warns when some of it comes on short notice', () => {
    const r = renderNotice({ ...base, locale: 'en', groups: [groups[0]], shortNotice: true });
    expect(r.subject).toBe('Teddy will delete 12 messages on Thursday, December 3');
    expect(r.text).toContain("Some of this is deleted sooner than our usual 2 days' notice");
  });

  it("writes dates in the notice's zone: midnight UTC is already the next day in Tokyo", () => {
    const r = renderNotice({ ...base, locale: 'en', timeZone: 'Asia/Tokyo' });
    expect(r.subject).toContain('from Thursday, December 3');
    expect(r.text).toContain('December 3, 2026 at 9:00 AM GMT+9');
  });

  it('writes Arabic right-to-left, with Arabic plurals and Arabic month names', () => {
    const r = renderNotice({
      ...base,
      locale: 'ar',
      guardianName: 'ليلى',
      groups: [group('عمر', '2026-12-02T00:00:00.000Z', 2, 2), group('سارة', '2026-12-02T00:00:00.000Z', 5, 11)],
      shortNotice: true,
    });
    expect(r.subject).toBe('سيحذف تيدي 7 رسائل في الأربعاء، 2 ديسمبر');
    expect(r.text).toContain('مرحبًا ليلى،');
    expect(r.text).toContain('- عمر: رسالتان في محادثتين');
    expect(r.text).toContain('- سارة: 5 رسائل في 11 محادثة');
    expect(r.text).toContain('قبل مهلة يومين المعتادة');
    expect(r.html).toContain('<html lang="ar" dir="rtl">');
    expect(r.html).toContain('<body dir="rtl"');
  });

  it('writes Latin digits in Arabic whatever the runtime would choose for the language', () => {
    const r = renderNotice({
      ...base,
      locale: 'ar',
      timeZone: 'Asia/Riyadh',
      groups: [group('عمر', '2026-12-12T21:00:00.000Z', 1234, 12)],
    });
    expect(r.subject).toContain('13 ديسمبر');
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
    const r = renderNotice({ ...base, locale: 'en', guardianName: 'A <script>' });
    expect(r.html).toContain('&lt;b&gt;Lina&lt;/b&gt; &amp; &quot;Co&quot;');
    expect(r.html).toContain('Hello A &lt;script&gt;,');
    expect(r.html).not.toContain('<b>Lina</b>');
    expect(r.html).not.toContain('<script>');
  });

  it('escapes every HTML special character', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
