// The Inbox: the checks that need memory (known state, the pinned pod,
// duplicates by jti, seq order and gaps) and what each event does.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Inbox } from '../inbox.mjs';
import { makePod, resource } from './fake-pod.mjs';

const CLIENT_ID = 'https://shop.test/custodian/client.json';
const pod = await makePod();
const otherPod = await makePod();

function freshInbox() {
  const inbox = new Inbox({ clientId: CLIENT_ID });
  inbox.addRequest({ state: 'st_1', requestUri: 'https://shop.test/custodian/requests/1', details: [], grantLifetime: 3600 });
  return inbox;
}

const updated = (...changes) => ({ type: 'updated', changes });

test('granted then updated: resources are kept and changed', async () => {
  const inbox = freshInbox();
  const granted = await pod.granted(CLIENT_ID, { resources: [resource('/contact/email', { email: 'a@x' }), resource('/contact/phone', '1')] });
  assert.equal((await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 1, event: granted }))).status, 200);
  const change = updated({ change: 'changed', ...resource('/contact/email', { email: 'b@x' }, '"e2"') }, { change: 'deleted', path: '/contact/phone' });
  assert.equal((await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 2, event: change }))).status, 200);
  const conn = inbox.connections.st_1;
  assert.equal(conn.status, 'granted');
  assert.equal(conn.pod_id, pod.id);
  assert.equal(conn.grant_id, 'grt_test1');
  assert.deepEqual(Object.keys(conn.resources), ['/contact/email']);
  assert.deepEqual(conn.resources['/contact/email'], resource('/contact/email', { email: 'b@x' }, '"e2"'));
  assert.equal(conn.receipts.length, 1);
  assert.deepEqual(inbox.deliveries.map((d) => d.seq), [1, 2]);
});

test('a granted split into parts adds up', async () => {
  const inbox = freshInbox();
  const one = await pod.granted(CLIENT_ID, { resources: [resource('/a/1', 1)], part: 1, parts: 2 });
  const two = { ...(await pod.granted(CLIENT_ID, { resources: [resource('/a/2', 2)], part: 2, parts: 2 })), consent_receipt: undefined };
  await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 1, event: one }));
  const second = await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 2, event: two }));
  assert.equal(second.status, 200, JSON.stringify(second.answer));
  const conn = inbox.connections.st_1;
  assert.deepEqual(Object.keys(conn.resources).sort(), ['/a/1', '/a/2']);
  assert.deepEqual(conn.parts_received, [1, 2]);
});

test('a re-sent delivery (same jti) is acknowledged again and applied once', async () => {
  const inbox = freshInbox();
  await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 1, event: await pod.granted(CLIENT_ID) }));
  const body = await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 2, event: updated() });
  const first = await inbox.receive(body);
  const again = await inbox.receive(body);
  assert.equal(first.duplicate, false);
  assert.equal(again.status, 200);
  assert.equal(again.duplicate, true);
  assert.equal(inbox.connections.st_1.updates, 1);
  assert.equal(inbox.deliveries.length, 2);
  assert.equal(inbox.duplicates.length, 1);
});

test('an unknown state is refused', async () => {
  const inbox = freshInbox();
  const result = await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_never', event: await pod.granted(CLIENT_ID) }));
  assert.equal(result.status, 400);
  assert.match(result.answer.reason, /unknown state/);
});

test('the first pod to deliver for a state is pinned; another pod is refused', async () => {
  const inbox = freshInbox();
  await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 1, event: await pod.granted(CLIENT_ID) }));
  const before = JSON.stringify(inbox.connections);
  const result = await inbox.receive(await otherPod.delivery(CLIENT_ID, { state: 'st_1', seq: 2, event: updated() }));
  assert.equal(result.status, 400);
  assert.match(result.answer.reason, /belongs to another pod/);
  assert.equal(JSON.stringify(inbox.connections), before, 'a refused delivery changes nothing');
  assert.equal(inbox.refused.length, 1);
});

test('seq must go up; a skipped number is recorded as a gap', async () => {
  const inbox = freshInbox();
  await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 1, event: await pod.granted(CLIENT_ID) }));
  assert.equal((await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 4, event: updated() }))).status, 200);
  assert.deepEqual(inbox.connections.st_1.gaps, [2, 3]);
  const back = await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 3, event: updated() }));
  assert.equal(back.status, 400);
  assert.match(back.answer.reason, /seq 3 is not after 4/);
});

test('a delivery for another request or grant under a pinned state is refused', async () => {
  const inbox = freshInbox();
  await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 1, event: await pod.granted(CLIENT_ID) }));
  const otherRequest = await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 2, event: updated(), claims: { request_id: 'req_other' } }));
  assert.match(otherRequest.answer.reason, /another request/);
  const otherGrant = await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 2, event: updated(), claims: { grant_id: 'grt_other' } }));
  assert.match(otherGrant.answer.reason, /another grant_id/);
});

test('denied, revoked and expired set the status', async () => {
  const denied = freshInbox();
  await denied.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', event: { type: 'denied', consent_receipt: await pod.receipt(CLIENT_ID, 'refused') } }));
  assert.equal(denied.connections.st_1.status, 'denied');
  assert.equal(denied.connections.st_1.grant_id, null);

  for (const type of ['revoked', 'expired']) {
    const inbox = freshInbox();
    await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 1, event: await pod.granted(CLIENT_ID) }));
    const end = { type, at: '2026-11-30T08:00:00Z', consent_receipt: await pod.receipt(CLIENT_ID, type) };
    assert.equal((await inbox.receive(await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 2, event: end }))).status, 200);
    assert.equal(inbox.connections.st_1.status, type);
    assert.equal(inbox.connections.st_1.ended_at, '2026-11-30T08:00:00Z');
  }
});

test('a snapshot restores the same memory (a restarted company still knows the jti)', async () => {
  const inbox = freshInbox();
  const body = await pod.delivery(CLIENT_ID, { state: 'st_1', seq: 1, event: await pod.granted(CLIENT_ID) });
  await inbox.receive(body);
  const restored = new Inbox({ clientId: CLIENT_ID, snapshot: JSON.parse(JSON.stringify(inbox.snapshot())) });
  const again = await restored.receive(body);
  assert.equal(again.duplicate, true);
  assert.equal(restored.connections.st_1.pod_id, pod.id);
});
