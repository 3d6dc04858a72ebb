// The company's own signing key, its public JWK Set, and the two kinds of
// JWS the company signs: the request object (RFC 9101) it publishes at a
// request address, and the feed items it publishes for an `append` grant.
//
// Everything JOSE goes through panva's `jose`; any maintained JOSE library
// of your language does the same.

import { readFile, writeFile, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';

/** The algorithms this example can sign with (the desktop accepts these and RS256/PS256). */
export const SIGNING_ALGS = ['EdDSA', 'ES256'];

/** A random URL-safe identifier, e.g. for `jti` and `state`. */
export function randomId(prefix = '', bytes = 16) {
  return prefix + randomBytes(bytes).toString('base64url');
}

/**
 * The company's signing key: loaded from `file` when it exists, otherwise
 * made now (and written to `file` when one is named, so a restarted company
 * keeps the key the desktop already trusts). Returns
 * `{ alg, kid, privateKey, publicJwk }`, `kid` being the key's RFC 7638
 * thumbprint.
 */
export async function loadOrMakeSigningKey({ file, alg = 'EdDSA' } = {}) {
  if (!SIGNING_ALGS.includes(alg)) throw new Error(`--alg must be one of ${SIGNING_ALGS.join(', ')}`);
  let privateJwk;
  if (file) {
    try {
      privateJwk = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      if (e.code !== 'ENOENT') throw new Error(`cannot read the signing key ${file}: ${e.message}`);
    }
  }
  if (privateJwk) {
    alg = privateJwk.alg ?? alg;
  } else {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    privateJwk = { ...(await jose.exportJWK(privateKey)), alg };
    if (file) {
      // Written whole, then renamed: a crash never leaves half a key.
      await writeFile(`${file}.tmp`, JSON.stringify(privateJwk), { mode: 0o600 });
      await rename(`${file}.tmp`, file);
    }
  }
  const { d: _private, ...publicParts } = privateJwk;
  const kid = await jose.calculateJwkThumbprint(publicParts, 'sha256');
  const publicJwk = { ...publicParts, kid, alg, use: 'sig' };
  const privateKey = await jose.importJWK(privateJwk, alg);
  return { alg, kid, privateKey, publicJwk };
}

/** The JWK Set served at `jwks_uri`: public keys only. */
export function jwks(signingKey) {
  return { keys: [signingKey.publicJwk] };
}

async function sign(signingKey, typ, claims) {
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: signingKey.alg, typ, kid: signingKey.kid })
    .sign(signingKey.privateKey);
}

/**
 * Signs a request object (RFC 9101, `typ` `oauth-authz-req+jwt`).
 * `iss` and `client_id` are the company's client_id; `aud` is the literal
 * "custodian"; it is valid for `ttl` seconds (at most 600 are accepted).
 */
export async function signRequestObject(signingKey, { clientId, details, grantLifetime, state, ttl = 600, now = Date.now() }) {
  const iat = Math.floor(now / 1000);
  const claims = {
    iss: clientId,
    client_id: clientId,
    aud: 'custodian',
    iat,
    exp: iat + ttl,
    jti: randomId('', 18),
    authorization_details: details,
    grant_lifetime: grantLifetime,
    state,
  };
  return { jws: await sign(signingKey, 'oauth-authz-req+jwt', claims), claims };
}

/**
 * Signs one feed item (`typ` `custodian-feed-item+jwt`) for the pod
 * `podId` under grant `grantId`: `item` is
 * `{ container, slug, content_type, content | content_base64 }`.
 */
export async function signFeedItem(signingKey, { clientId, podId, grantId, item, now = Date.now() }) {
  const claims = {
    iss: clientId,
    aud: podId,
    iat: Math.floor(now / 1000),
    jti: randomId('itm_', 16),
    grant_id: grantId,
    item,
  };
  return sign(signingKey, 'custodian-feed-item+jwt', claims);
}
