import { FixedClock } from '../src/common/clock';
import { SchedulerService } from '../src/scheduler/scheduler.service';
import { startApp, TestApp } from './support/app';
import { TEST_DB } from './support/databases';
import { addMessages, newFamily } from './support/factories';

describe(`a family's deletion history (${TEST_DB})`, () => {
  const clock = new FixedClock(new Date('2026-11-28T23:00:00.000Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ clock });
  });
  afterAll(() => t.close());

  it('answers when the data was deleted and when the family was told, and keeps evidence of an erasure', async () => {
    const fam = await newFamily(t);
    // Due at the cleanup of 30 November (cutoff 31 October, 00:00), not at the one of the 29th.
    await addMessages(t, fam.conversationId, ['2026-10-30T12:00:00.000Z', '2026-10-30T13:00:00.000Z']);

    const told = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
    expect(told.body).toMatchObject({
      noticesCreated: 1,
      delivery: { sent: 1 },
      run: { jobId: 'cleanup_notifications', status: 'succeeded' },
    });

    let history = await t.http.get(`/admin/families/${fam.guardianId}/history`).set(t.as('viewer')).expect(200);
    expect(history.body).toMatchObject({ exists: true, stored: { children: 1, messages: 2, oldestMessageAt: '2026-10-30T12:00:00.000Z' } });
    expect(history.body.notices).toEqual([
      expect.objectContaining({
        cleanupAt: '2026-11-30T00:00:00.000Z',
        status: 'sent',
        sentAt: '2026-11-28T23:00:00.000Z',
        messages: 2,
        cleanup: null,
      }),
    ]);

    // Only the cleanup fires here (the notice job's own catch-up is another test's subject).
    await t.http.patch('/admin/scheduler/jobs/cleanup_notifications').set(t.as('operator')).send({ paused: true }).expect(200);
    clock.set('2026-11-30T00:00:00.000Z');
    const engine = t.app.get(SchedulerService);
    await engine.tick();
    await engine.idle();
    history = await t.http.get(`/admin/families/${fam.guardianId}/history`).set(t.as('viewer')).expect(200);
    expect(history.body.stored).toMatchObject({ messages: 0, oldestMessageAt: null });
    expect(history.body.notices).toHaveLength(1);
    expect(history.body.notices[0].cleanup).toMatchObject({
      status: 'succeeded',
      trigger: 'scheduled',
      finishedAt: '2026-11-30T00:00:00.000Z',
    });

    await addMessages(t, fam.conversationId, ['2026-11-29T10:00:00.000Z']);
    clock.set('2026-11-30T08:00:00.000Z');
    await t.http.delete(`/v1/guardians/${fam.guardianId}`).set(t.as('ingest')).expect(200);
    history = await t.http.get(`/admin/families/${fam.guardianId}/history`).set(t.as('viewer')).expect(200);
    expect(history.body).toMatchObject({
      exists: false,
      stored: null,
      erasures: [{ erasedAt: '2026-11-30T08:00:00.000Z', erasedBy: 'ingest', children: 1, conversations: 1, messages: 1 }],
    });
    // The notices went with the family (they name its children); the erasure record names nobody.
    expect(history.body.notices).toEqual([]);
  });

  it('answers 404 for a guardian with nothing on record, and 400 for a bad id', async () => {
    await t.http.get('/admin/families/6f1d1e8e-1111-4c57-9a8e-2b7d1e4f6a90/history').set(t.as('viewer')).expect(404);
    await t.http.get('/admin/families/not-a-uuid/history').set(t.as('viewer')).expect(400);
  });
});
