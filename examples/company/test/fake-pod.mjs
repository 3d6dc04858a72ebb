// A stand-in for the person's pod in the tests: an Ed25519 key made with
// jose, deliveries and consent receipts signed with it exactly as the
// contract (docs/companies.md) says the pod signs them.

import * as jose from 'jose';

export async function makePod() {
  const { privateKey, publicKey } = await jose.generateKeyPair('EdDSA', { extractable: true });
  const { kty, crv, x } = await jose.exportJWK(publicKey);
  const id = await jose.calculateJwkThumbprint({ kty, crv, x }, 'sha256');
  // The pod's JWK as it publishes it (docs/PROTOCOL.md), extra members included.
  const jwk = { alg: 'EdDSA', crv, kid: id, kty, use: 'sig', x };
  let counter = 0;
  const nextId = (prefix) => `${prefix}${id.slice(0, 6)}${(counter += 1)}`;

  const sign = (header, claims, key = privateKey) =>
    new jose.CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header).sign(key);

  /** A consent receipt about `clientId` (only the claims the company checks, and a few more). */
  const receipt = (clientId, type = 'given', overrides = {}) =>
    sign(
      { alg: 'EdDSA', kid: id, typ: 'consent-receipt+jwt' },
      { iss: id, sub: id, aud: clientId, iat: Math.floor(Date.now() / 1000), jti: nextId('rcp_'), event: { type }, ...overrides },
    );

  /**
   * A delivery for `clientId`: `claims` override the defaults, `header`
   * overrides the header, `key` signs instead of the pod's key.
   */
  async function delivery(clientId, { state, seq = 1, event, claims = {}, header = {}, key } = {}) {
    const fullClaims = {
      iss: id,
      aud: clientId,
      iat: Math.floor(Date.now() / 1000),
      jti: nextId('dlv_'),
      state,
      request_id: 'req_test1',
      ...(event?.type === 'denied' ? {} : { grant_id: 'grt_test1' }),
      seq,
      event,
      ...claims,
    };
    return sign({ alg: 'EdDSA', typ: 'custodian-delivery+jwt', kid: id, jwk, ...header }, fullClaims, key);
  }

  /** A `granted` event with `resources`, carrying a fresh receipt. */
  const granted = async (clientId, { resources = [], part = 1, parts = 1, details, grantId = 'grt_test1' } = {}) => ({
    type: 'granted',
    grant: {
      id: grantId,
      authorization_details: details ?? [
        { type: 'pod_access', paths: ['/contact/'], actions: ['read'], purpose: 'Order updates' },
        { type: 'pod_access', paths: ['/purchases/'], actions: ['append'], purpose: 'Receipts' },
      ],
      expires_at: '2027-01-01T00:00:00Z',
    },
    consent_receipt: await receipt(clientId, 'given'),
    resources,
    part,
    parts,
  });

  return { id, jwk, privateKey, sign, receipt, delivery, granted };
}

/** A resource as a delivery carries it. */
export const resource = (path, content, etag = '"e1"') => ({ path, etag, content_type: 'application/json', content });
