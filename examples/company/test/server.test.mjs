// The server end to end, over plain HTTP on loopback (the TLS wiring is
// node:https with the PEMs given; the Rust end-to-end test drives it over
// HTTPS through the real custodian binary): metadata, request object,
// deliveries, the feed, the outage control and a restart.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';

import { startCompany } from '../server.mjs';
import { makePod, resource } from './fake-pod.mjs';

const dataDir = mkdtempSync(join(tmpdir(), 'company-test-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

const config = (port = 0) => ({
  http: true,
  host: '127.0.0.1',
  port,
  bind: '127.0.0.1',
  dataDir,
  name: 'Shop',
  alg: 'EdDSA',
  testControls: true,
});
const quiet = { log: () => {} };

let company = await startCompany(config(), quiet);
const pod = await makePod();

const get = async (path) => {
  const res = await fetch(`${company.origin}${path}`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};
const postDelivery = async (body, type = 'application/jwt') => {
  const res = await fetch(company.metadata.delivery_uri, { method: 'POST', headers: { 'Content-Type': type }, body });
  return { status: res.status, json: await res.json(), retryAfter: res.headers.get('retry-after') };
};
const postJson = async (path, value, method = 'POST') => {
  const res = await fetch(`${company.origin}${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) });
  return { status: res.status, json: await res.json() };
};

test('the metadata document names its own URL and endpoints on its origin', async () => {
  const { status, text } = await get('/custodian/client.json');
  assert.equal(status, 200);
  const meta = JSON.parse(text);
  assert.equal(meta.client_id, company.clientId);
  assert.equal(meta.client_id, `${company.origin}/custodian/client.json`);
  for (const member of ['jwks_uri', 'delivery_uri', 'feed_uri']) assert.ok(meta[member].startsWith(`${company.origin}/`), member);
  assert.equal(meta.jwks, undefined, 'jwks_uri, not jwks inline');
});

test('the request object at the link verifies with the JWK Set and carries the contract claims', async () => {
  const made = await postJson('/connect', {});
  assert.equal(made.status, 201);
  const link = new URL(made.json.link);
  assert.equal(link.protocol, 'custodian:');
  assert.equal(link.searchParams.get('client_id'), company.clientId);
  const requestUri = link.searchParams.get('request_uri');
  assert.equal(new URL(requestUri).host, new URL(company.clientId).host);

  const res = await fetch(requestUri);
  assert.equal(res.headers.get('content-type'), 'application/oauth-authz-req+jwt');
  const jws = await res.text();
  const keys = jose.createLocalJWKSet(JSON.parse((await get('/custodian/jwks.json')).text));
  const { payload, protectedHeader } = await jose.jwtVerify(jws, keys, { issuer: company.clientId, audience: 'custodian', typ: 'oauth-authz-req+jwt' });
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(payload.client_id, company.clientId);
  assert.equal(payload.state, made.json.state);
  assert.ok(payload.exp - payload.iat <= 600);
  assert.ok(payload.jti.length >= 1 && payload.jti.length <= 128);
  assert.equal(payload.authorization_details[0].type, 'pod_access');
});

test('deliveries: accepted after verifying, kept, de-duplicated; refused ones answered 400', async () => {
  const { state } = (await postJson('/connect', {})).json;
  const clientId = company.clientId;
  const granted = await pod.delivery(clientId, {
    state,
    seq: 1,
    event: await pod.granted(clientId, { resources: [resource('/contact/email', { email: 'ada@example.org' })] }),
  });
  assert.deepEqual((await postDelivery(granted)).json, { ok: true });
  assert.deepEqual((await postDelivery(granted)).json, { ok: true, duplicate: true });

  const [h, p, s] = granted.split('.');
  const tampered = `${h}.${p.slice(0, -2)}AA.${s}`;
  const refused = await postDelivery(tampered);
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error, 'invalid_delivery');
  assert.equal((await postDelivery(granted, 'application/json')).status, 415);

  const received = JSON.parse((await get('/received')).text);
  const conn = received.connections[state];
  assert.equal(conn.status, 'granted');
  assert.equal(conn.pod_id, pod.id);
  assert.equal(conn.resources['/contact/email'].content.email, 'ada@example.org');
  assert.equal(received.deliveries.filter((d) => d.state === state).length, 1);
  assert.equal(received.duplicates.filter((d) => d.state === state).length, 1);
  assert.ok(received.refused.length >= 1);
});

test('an append grant gets an order receipt in the feed, signed for that pod', async () => {
  const { state } = (await postJson('/connect', {})).json;
  const event = await pod.granted(company.clientId, { grantId: 'grt_feed1' });
  const body = await pod.delivery(company.clientId, { state, seq: 1, event, claims: { grant_id: 'grt_feed1' } });
  assert.deepEqual((await postDelivery(body)).json, { ok: true });

  const page = JSON.parse((await get('/custodian/feed?grant_id=grt_feed1&after=')).text);
  assert.equal(page.items.length, 1);
  assert.equal(page.next, '1');
  const keys = jose.createLocalJWKSet(JSON.parse((await get('/custodian/jwks.json')).text));
  const { payload, protectedHeader } = await jose.jwtVerify(page.items[0], keys, { issuer: company.clientId, audience: pod.id });
  assert.equal(protectedHeader.typ, 'custodian-feed-item+jwt');
  assert.equal(payload.grant_id, 'grt_feed1');
  assert.equal(payload.item.container, '/purchases/');
  assert.match(payload.item.slug, /^order-\d+$/);
  assert.deepEqual(JSON.parse((await get('/custodian/feed?grant_id=grt_feed1&after=1')).text), { items: [], next: '1' });

  // A test can add a badly signed item: it does not verify with the JWK Set.
  assert.equal((await postJson('/test/feed', { grant_id: 'grt_feed1', bad_signature: true })).status, 200);
  const next = JSON.parse((await get('/custodian/feed?grant_id=grt_feed1&after=1')).text);
  assert.equal(next.items.length, 1);
  await assert.rejects(jose.jwtVerify(next.items[0], keys));
  assert.equal((await get('/custodian/feed?grant_id=grt_feed1&after=7')).status, 400);
  assert.deepEqual(JSON.parse((await get('/custodian/feed?grant_id=grt_unknown&after=')).text), { items: [], next: '' });
});

test('an outage answers 503 with Retry-After for the count asked, then deliveries land', async () => {
  const { state } = (await postJson('/connect', {})).json;
  await postJson('/test/outage', { status: 503, retry_after: 1, count: 2 });
  const body = await pod.delivery(company.clientId, { state, seq: 1, event: await pod.granted(company.clientId) });
  const first = await postDelivery(body);
  assert.equal(first.status, 503);
  assert.equal(first.retryAfter, '1');
  assert.equal((await postDelivery(body)).status, 503);
  assert.equal((await postDelivery(body)).status, 200);
  const received = JSON.parse((await get('/received')).text);
  assert.equal(received.connections[state].status, 'granted');
});

test('a restart with the same data directory and port keeps the key and the memory', async () => {
  const { state } = (await postJson('/connect', {})).json;
  const body = await pod.delivery(company.clientId, { state, seq: 1, event: await pod.granted(company.clientId) });
  assert.equal((await postDelivery(body)).status, 200);
  const { kid } = company.signingKey;
  const port = new URL(company.origin).port;
  await company.close();
  company = await startCompany(config(Number(port)), quiet);
  assert.equal(company.signingKey.kid, kid);
  assert.deepEqual((await postDelivery(body)).json, { ok: true, duplicate: true });
  await company.close();
});
