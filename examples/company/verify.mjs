// Checking one delivery on its own: the steps docs/companies.md tells a
// company to take before it believes anything a delivery says. What needs
// memory (which pod a `state` belongs to, which `jti` was already seen, the
// `seq` order) is in inbox.mjs.
//
// A delivery is a compact JWS signed by the person's pod. The pod's public
// key travels in the header (`jwk`) and names itself: the pod id (`kid`,
// and the claim `iss`) is that key's RFC 7638 thumbprint. So no key needs
// fetching: recompute the thumbprint, compare, verify with that key, and
// then pin the pod id to the request's `state` (inbox.mjs).

import * as jose from 'jose';

/** The largest delivery body the pod sends (MAX_DELIVERY_BYTES). */
export const MAX_DELIVERY_BYTES = 1024 * 1024;

/** The event types a delivery carries. */
export const EVENT_TYPES = ['granted', 'denied', 'updated', 'revoked', 'expired'];

/** A delivery refused, with the reason the company answers (400) and logs. */
export class DeliveryError extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'DeliveryError';
    this.reason = reason;
  }
}

const refuse = (reason) => {
  throw new DeliveryError(reason);
};

const isNonEmptyString = (v, max = 256) => typeof v === 'string' && v.length > 0 && v.length <= max;

/**
 * Verifies one delivery body for the company `clientId`. Returns
 * `{ podId, header, claims, podKey, receipt }` (`receipt`: the consent
 * receipt's claims, or null); throws `DeliveryError` naming the
 * first rule that fails.
 */
export async function verifyDelivery(body, { clientId }) {
  if (typeof body !== 'string' || body.length === 0) refuse('empty body: a delivery is a compact JWS');
  if (Buffer.byteLength(body) > MAX_DELIVERY_BYTES) refuse('body over 1 MiB');
  if (body.split('.').length !== 3) refuse('not a compact JWS (three base64url parts separated by dots)');

  // 1. The header, read before anything is trusted.
  let header;
  try {
    header = jose.decodeProtectedHeader(body);
  } catch {
    refuse('the JWS header is not base64url JSON');
  }
  if (header.alg !== 'EdDSA') refuse(`alg must be EdDSA, not ${JSON.stringify(header.alg)}`);
  if (header.typ !== 'custodian-delivery+jwt') refuse(`typ must be custodian-delivery+jwt, not ${JSON.stringify(header.typ)}`);
  const jwk = header.jwk;
  if (!jwk || typeof jwk !== 'object' || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    refuse('the header has no Ed25519 public key (jwk with kty OKP, crv Ed25519)');
  }
  if ('d' in jwk) refuse('the header jwk carries a private key');
  if (!isNonEmptyString(header.kid, 128)) refuse('the header has no kid');

  // 2. The key proves itself: its thumbprint is the pod id the header names.
  const thumbprint = await jose.calculateJwkThumbprint(jwk, 'sha256');
  if (thumbprint !== header.kid) refuse('the header kid is not the thumbprint of the header jwk');

  // 3. The signature, with that key and that algorithm only.
  let payload;
  let podKey;
  try {
    podKey = await jose.importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'EdDSA');
    ({ payload } = await jose.compactVerify(body, podKey, { algorithms: ['EdDSA'] }));
  } catch {
    refuse('bad signature');
  }

  // 4. The claims.
  let claims;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    refuse('the payload is not JSON');
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) refuse('the payload is not a JSON object');
  if (claims.iss !== header.kid) refuse('iss is not the pod id (the header kid)');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(clientId)) refuse(`aud is not this company's client_id (${clientId})`);
  if (!isNonEmptyString(claims.jti, 128)) refuse('no jti');
  if (!isNonEmptyString(claims.state)) refuse('no state');
  if (!isNonEmptyString(claims.request_id, 128)) refuse('no request_id');
  if (!Number.isSafeInteger(claims.seq) || claims.seq < 1) refuse('seq must be an integer from 1');
  // `iat` is when the pod made the delivery; a retry days later carries the
  // same one (the JWS is resent byte for byte), so its age is no reason to
  // refuse.
  if (!Number.isFinite(claims.iat)) refuse('no iat');
  const event = claims.event;
  if (!event || typeof event !== 'object' || !EVENT_TYPES.includes(event.type)) {
    refuse(`event.type must be one of ${EVENT_TYPES.join(', ')}`);
  }
  if (event.type === 'denied') {
    if (claims.grant_id !== undefined) refuse('a denied delivery names no grant');
  } else if (!isNonEmptyString(claims.grant_id, 128)) {
    refuse(`a ${event.type} delivery names its grant_id`);
  }
  if (event.type === 'granted') {
    if (event.grant?.id !== claims.grant_id) refuse('event.grant.id is not the grant_id');
    const { part, parts } = event;
    if (!Number.isSafeInteger(part) || !Number.isSafeInteger(parts) || part < 1 || part > parts) {
      refuse('part and parts must be integers with 1 <= part <= parts');
    }
    if (!Array.isArray(event.resources)) refuse('a granted delivery lists its resources');
  }
  if (event.type === 'updated' && !Array.isArray(event.changes)) refuse('an updated delivery lists its changes');

  // 5. The consent receipt it carries (granted — at least on part 1 —,
  // denied, revoked, expired) is signed by the same pod key: check it too.
  const receiptRequired = event.type !== 'updated' && (event.type !== 'granted' || event.part === 1);
  let receipt = null;
  if (receiptRequired || event.consent_receipt !== undefined) {
    receipt = await verifyReceipt(event.consent_receipt, { podId: header.kid, podKey, clientId });
  }

  return { podId: header.kid, header, claims, podKey, receipt };
}

/**
 * Verifies a consent receipt carried by a delivery: signed by the pod's key,
 * `typ` `consent-receipt+jwt`, issued by the pod for this company. Returns
 * its claims.
 */
export async function verifyReceipt(receipt, { podId, podKey, clientId }) {
  if (typeof receipt !== 'string') refuse('no consent_receipt');
  let verified;
  try {
    verified = await jose.compactVerify(receipt, podKey, { algorithms: ['EdDSA'] });
  } catch {
    refuse('the consent receipt is not signed by this pod');
  }
  if (verified.protectedHeader.typ !== 'consent-receipt+jwt') refuse('the consent receipt has the wrong typ');
  let claims;
  try {
    claims = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    refuse('the consent receipt payload is not JSON');
  }
  if (claims?.iss !== podId) refuse('the consent receipt was issued by another pod');
  if (claims.aud !== clientId) refuse("the consent receipt is not about this company's client_id");
  return claims;
}
