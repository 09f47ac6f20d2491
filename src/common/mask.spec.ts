import { maskAddress, maskDeep, maskEmails } from './mask';

describe('maskEmails', () => {
  it('keeps the first letter and the domain only', () => {
    expect(maskEmails('sent to jane.doe+kids@example.co.uk today')).toBe('sent to j***@example.co.uk today');
  });

  it('masks every address in nested log objects', () => {
    const masked = maskDeep({ guardian: { email: 'ab@x.org', list: ['c@d.io'] }, n: 3 });
    expect(masked).toEqual({ guardian: { email: 'a***@x.org', list: ['c***@d.io'] }, n: 3 });
  });

  it('masks internationalised addresses and addresses inside SMTP replies', () => {
    expect(maskEmails('to layla@bücher.de')).toBe('to l***@bücher.de');
    expect(maskEmails('jöhn.doe@example.com')).toBe('j***@example.com');
    expect(maskEmails('550 <jane.doe@example.com>: Recipient address rejected')).toBe('550 <j***@example.com>: Recipient address rejected');
    expect(maskEmails('/v1/x?email=jane%40example.com&y=1')).toBe('/v1/x?email=j***@example.com&y=1');
  });

  it('masks a single address structurally', () => {
    expect(maskAddress('"jane doe"@example.com')).toBe('"***@example.com');
    expect(maskAddress('layla@bücher.de')).toBe('l***@bücher.de');
    expect(maskAddress('nonsense')).toBe('***');
  });

  it('leaves text without addresses alone', () => {
    expect(maskEmails('no address @ here')).toBe('no address @ here');
  });
});
