import { maskDeep, maskEmails } from './mask';

describe('maskEmails', () => {
  it('keeps the first letter and the domain only', () => {
    expect(maskEmails('sent to jane.doe+kids@example.co.uk today')).toBe('sent to j***@example.co.uk today');
  });

  it('masks every address in nested log objects', () => {
    const masked = maskDeep({ guardian: { email: 'ab@x.org', list: ['c@d.io'] }, n: 3 });
    expect(masked).toEqual({ guardian: { email: 'a***@x.org', list: ['c***@d.io'] }, n: 3 });
  });

  it('leaves text without addresses alone', () => {
    expect(maskEmails('no address @ here')).toBe('no address @ here');
  });
});
