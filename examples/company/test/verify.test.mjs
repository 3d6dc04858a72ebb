// verifyDelivery: a delivery signed as the contract says is accepted, and
// each tampered variant is refused with the rule it breaks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';

import { verifyDelivery, DeliveryError } from '../verify.mjs';
import { makePod, resource } from './fake-pod.mjs';

const CLIENT_ID = 'https://shop.test/custodian/client.json';
const STATE = 'st_abc';

const pod = await makePod();
const stranger = await makePod();

async function refusedWith(body, reason) {
  await assert.rejects(verifyDelivery(body, { clientId: CLIENT_ID }), (e) => {
    assert.ok(e instanceof DeliveryError, `not a DeliveryError: ${e}`);
    assert.match(e.reason, reason);
    return true;
  });
}

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString());

test('a granted delivery signed by the pod is accepted, pod id and receipt read', async () => {
  const event = await pod.granted(CLIENT_ID, { resources: [resource('/contact/email', { email: 'ada@example.org' })] });
  const body = await pod.delivery(CLIENT_ID, { state: STATE, event });
  const { podId, claims, receipt } = await verifyDelivery(body, { clientId: CLIENT_ID });
  assert.equal(podId, pod.id);
  assert.equal(claims.event.resources[0].content.email, 'ada@example.org');
  assert.equal(receipt.iss, pod.id);
});

test('every event type is accepted', async () => {
  for (const event of [
    { type: 'denied', consent_receipt: await pod.receipt(CLIENT_ID, 'refused') },
    { type: 'updated', changes: [{ change: 'deleted', path: '/contact/email' }] },
    { type: 'revoked', at: '2026-11-30T08:00:00Z', consent_receipt: await pod.receipt(CLIENT_ID, 'withdrawn') },
    { type: 'expired', at: '2026-11-30T08:00:00Z', consent_receipt: await pod.receipt(CLIENT_ID, 'expired') },
  ]) {
    const body = await pod.delivery(CLIENT_ID, { state: STATE, event });
    const { claims } = await verifyDelivery(body, { clientId: CLIENT_ID });
    assert.equal(claims.event.type, event.type);
  }
});

test('a changed payload breaks the signature', async () => {
  const body = await pod.delivery(CLIENT_ID, { state: STATE, event: { type: 'updated', changes: [] } });
  const [h, p, s] = body.split('.');
  const claims = decode(p);
  claims.seq = 99;
  await refusedWith(`${h}.${b64(claims)}.${s}`, /bad signature/);
});

test('a changed signature is refused', async () => {
  const body = await pod.delivery(CLIENT_ID, { state: STATE, event: { type: 'updated', changes: [] } });
  const [h, p, s] = body.split('.');
  const flipped = Buffer.from(s, 'base64url');
  flipped[0] ^= 1;
  await refusedWith(`${h}.${p}.${flipped.toString('base64url')}`, /bad signature/);
});

test("another key in the header under the pod's kid is refused", async () => {
  // The stranger signs with its own key and shows its own jwk, but claims
  // to be the pod: the thumbprint of its jwk is not the kid.
  const body = await pod.delivery(CLIENT_ID, {
    state: STATE,
    event: { type: 'updated', changes: [] },
    header: { jwk: stranger.jwk },
    key: stranger.privateKey,
  });
  await refusedWith(body, /kid is not the thumbprint/);
});

test('a stranger signing as itself but naming the pod as iss is refused', async () => {
  const body = await stranger.delivery(CLIENT_ID, {
    state: STATE,
    event: { type: 'updated', changes: [] },
    claims: { iss: pod.id },
  });
  await refusedWith(body, /iss is not the pod id/);
});

test('the signature of another key than the header names is refused', async () => {
  const body = await pod.delivery(CLIENT_ID, { state: STATE, event: { type: 'updated', changes: [] }, key: stranger.privateKey });
  await refusedWith(body, /bad signature/);
});

test('wrong typ, alg none, missing jwk and a private jwk are refused', async () => {
  await refusedWith(
    await pod.delivery(CLIENT_ID, { state: STATE, event: { type: 'updated', changes: [] }, header: { typ: 'JWT' } }),
    /typ must be custodian-delivery\+jwt/,
  );
  const unsigned = `${b64({ alg: 'none', typ: 'custodian-delivery+jwt', kid: pod.id, jwk: pod.jwk })}.${b64({ iss: pod.id })}.`;
  await refusedWith(unsigned, /alg must be EdDSA/);
  await refusedWith(
    await pod.delivery(CLIENT_ID, { state: STATE, event: { type: 'updated', changes: [] }, header: { jwk: undefined } }),
    /no Ed25519 public key/,
  );
  const privateJwk = await jose.exportJWK(pod.privateKey);
  await refusedWith(
    await pod.delivery(CLIENT_ID, { state: STATE, event: { type: 'updated', changes: [] }, header: { jwk: privateJwk } }),
    /private key/,
  );
});

test('a delivery meant for another company is refused', async () => {
  const body = await pod.delivery('https://other.test/client.json', { state: STATE, event: { type: 'updated', changes: [] } });
  await refusedWith(body, /aud is not this company's client_id/);
});

test('claims that break the shape are refused', async () => {
  const updated = { type: 'updated', changes: [] };
  await refusedWith(await pod.delivery(CLIENT_ID, { state: STATE, seq: 0, event: updated }), /seq must be an integer/);
  await refusedWith(await pod.delivery(CLIENT_ID, { state: STATE, event: { type: 'shipped' } }), /event.type must be one of/);
  await refusedWith(await pod.delivery(CLIENT_ID, { state: STATE, event: updated, claims: { jti: '' } }), /no jti/);
  await refusedWith(await pod.delivery(CLIENT_ID, { event: updated }), /no state/);
  const partTwoOfOne = { ...(await pod.granted(CLIENT_ID)), part: 2, parts: 1 };
  await refusedWith(await pod.delivery(CLIENT_ID, { state: STATE, event: partTwoOfOne }), /part and parts/);
});

test('a consent receipt not signed by the pod, or not about this company, is refused', async () => {
  const forged = { ...(await pod.granted(CLIENT_ID)), consent_receipt: await stranger.receipt(CLIENT_ID) };
  await refusedWith(await pod.delivery(CLIENT_ID, { state: STATE, event: forged }), /not signed by this pod/);
  const elsewhere = { ...(await pod.granted(CLIENT_ID)), consent_receipt: await pod.receipt('cli_other') };
  await refusedWith(await pod.delivery(CLIENT_ID, { state: STATE, event: elsewhere }), /not about this company/);
  const missing = { type: 'revoked', at: '2026-11-30T08:00:00Z' };
  await refusedWith(await pod.delivery(CLIENT_ID, { state: STATE, event: missing }), /no consent_receipt/);
});

test('a body that is not a compact JWS is refused', async () => {
  await refusedWith('', /empty body/);
  await refusedWith('a.b', /not a compact JWS/);
  await refusedWith('!!.e30.e30', /header is not base64url JSON/);
  await refusedWith('x'.repeat(1024 * 1024 + 1), /over 1 MiB/);
});
