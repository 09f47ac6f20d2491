import { CronSchedule, CronSyntaxError } from '.';

describe('syntax', () => {
  it.each([
    ['0 25 * * *', /^hour: value 25 is out of range 0-23$/],
    ['60 * * * *', /^minute: value 60 is out of range 0-59$/],
    ['61 0 0 * * *', /^second: value 61 is out of range 0-59$/],
    ['0 0 32 * *', /^day of month: value 32 is out of range 1-31$/],
    ['0 0 0 * *', /^day of month: value 0 is out of range 1-31$/],
    ['0 0 * 13 *', /^month: value 13 is out of range 1-12$/],
    ['0 0 * * 8', /^day of week: value 8 is out of range 0-7$/],
    ['* * * *', /expected 5 fields .* got 4/],
    ['* * * * * * *', /expected 5 fields .* got 7/],
    ['', /got 0/],
    ['@daily', /nicknames like "@daily" are not supported/],
    ['0 0 ? * *', /^day of month: "\?" is not supported/],
    ['0 0 * * ?', /^day of week: "\?" is not supported/],
    ['*/0 * * * *', /^minute: step 0 is not allowed$/],
    ['0 5-1 * * *', /^hour: range 5-1 is reversed/],
    ['0 0 * * FRI-MON', /^day of week: range FRI-MON is reversed/],
    ['0 0 * * MON#2', /^day of week: .*"#"/],
    ['0 0 L * *', /^day of month: "L" is not supported/],
    ['0 0 * * JAN', /^day of week: "JAN" is a month name/],
    ['0 0 * MON *', /^month: "MON" is a weekday name/],
    ['0 JAN * * *', /^hour: "JAN" is a month name/],
    ['0 0 * jan1 *', /^month: invalid value "jan1"/],
    ['0 0 * * MONDAY', /^day of week: unknown name "MONDAY"/],
    ['1,,2 * * * *', /^minute: empty list item/],
    ['1- * * * *', /^minute: cannot parse "1-"/],
    ['*/x * * * *', /^minute: step "x" is not a number/],
    ['*/mon * * * *', /^minute: step "mon" is not a number/],
    ['1.5 * * * *', /^minute: cannot parse "1.5"/],
    ['*-5 * * * *', /^minute: cannot parse "\*-5"/],
  ])('%j is rejected: %s', (expr, message) => {
    let error: unknown;
    try {
      CronSchedule.parse(expr, 'UTC');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CronSyntaxError);
    expect((error as Error).message).toMatch(message);
  });

  it('rejects an unknown time zone', () => {
    expect(() => CronSchedule.parse('0 0 * * *', 'Mars/Olympus_Mons')).toThrow(CronSyntaxError);
    expect(() => CronSchedule.parse('0 0 * * *', 'Mars/Olympus_Mons')).toThrow('unknown time zone "Mars/Olympus_Mons"');
  });

  it('accepts the supported syntax', () => {
    for (const expr of [
      '0 0 * * *',
      '*/5 1-5/2 1,15 jan,JUL sun-sat',
      '5/15 * * * * *',
      '0 0 1 * 7',
      '00 05 * * *',
      '0 0 * * 0,7',
      '*,1 * * * *',
    ]) {
      expect(() => CronSchedule.parse(expr, 'UTC')).not.toThrow();
    }
  });

  it('rejects, with a message, the forms other cron libraries read in surprising ways', () => {
    // The cron package (4.4) accepts all of these: it replaces names by numbers anywhere in the
    // string (`0 0 * * jan` becomes Monday) and expands nicknames.
    for (const expr of [
      '@daily',
      '@weekdays',
      '0 0 * * jan',
      '0 0 * mon *',
      '0 jan * * *',
      '0 0 * jan1 *',
      '0 0 * * sun0',
      '*/mon * * * *',
    ]) {
      expect(() => CronSchedule.parse(expr, 'UTC')).toThrow(CronSyntaxError);
    }
  });
});

describe('describe()', () => {
  it.each([
    ['0 0 * * *', "cron[hour='0', minute='0']"],
    ['0 9,18 * * *', "cron[hour='9,18', minute='0']"],
    ['*/15 * * * * *', "cron[second='*/15']"],
    ['0 9 * JAN-MAR MON-FRI', "cron[month='JAN-MAR', day_of_week='MON-FRI', hour='9', minute='0']"],
    ['0 0 0 1 1 *', "cron[month='1', day='1', hour='0', minute='0']"],
    ['* * * * *', "cron[minute='*']"],
    ['* * * * * *', "cron[second='*']"],
    ['30 15 10 13 * 5', "cron[day='13', day_of_week='5', hour='10', minute='15', second='30']"],
  ])('%s -> %s', (expr, text) => {
    expect(CronSchedule.parse(expr, 'UTC').describe()).toBe(text);
  });
});
