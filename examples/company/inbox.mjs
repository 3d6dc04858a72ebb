// What the company remembers about its requests and what it was delivered,
// and the checks that need that memory:
//
// - `state` must be one this company put in a request object it signed;
// - the first pod that delivers for a `state` is pinned: a delivery for that
//   `state` from any other pod (someone else who opened the same link) is
//   refused;
// - deliveries are at least once: a `jti` seen before is acknowledged (2xx)
//   again and not applied twice;
// - `seq` counts 1, 2, 3… per request: it must go up; a number skipped is
//   recorded as a gap (the pod skips a delivery that became moot, e.g. an
//   update queued for a grant that has since ended).
//
// The whole memory is one JSON-able object, so the server can keep it in a
// file and a restart loses nothing.

import { DeliveryError, verifyDelivery } from './verify.mjs';

const MAX_LOG = 1000;

function pushCapped(list, entry) {
  list.push(entry);
  if (list.length > MAX_LOG) list.splice(0, list.length - MAX_LOG);
}

export class Inbox {
  /** `clientId`: this company's client_id; `snapshot`: what `snapshot()` returned before a restart. */
  constructor({ clientId, snapshot } = {}) {
    this.clientId = clientId;
    this.connections = snapshot?.connections ?? {}; // by state
    this.deliveries = snapshot?.deliveries ?? []; // accepted, in arrival order
    this.duplicates = snapshot?.duplicates ?? []; // re-sent jti, acknowledged again
    this.refused = snapshot?.refused ?? []; // answered 400, with the reason
  }

  /** Remembers a request object this company signed, under its `state`. */
  addRequest({ state, requestUri, details, grantLifetime, createdAt = new Date().toISOString() }) {
    this.connections[state] = {
      state,
      request_uri: requestUri,
      asked: details,
      grant_lifetime: grantLifetime,
      created_at: createdAt,
      status: 'pending',
      pod_id: null,
      request_id: null,
      grant_id: null,
      grant: null,
      resources: {},
      parts_received: [],
      receipts: [],
      last_seq: 0,
      gaps: [],
      seen_jtis: [],
      updates: 0,
      ended_at: null,
    };
    return this.connections[state];
  }

  /**
   * Verifies and applies one delivery body. Returns
   * `{ status, answer, connection, delivery, duplicate }`: `status` 200
   * when it is (or was already) applied, 400 with `answer.reason` when it
   * is refused. Nothing is applied unless every check passed.
   */
  async receive(body, now = new Date()) {
    try {
      const verified = await verifyDelivery(body, { clientId: this.clientId });
      return { status: 200, ...this.accept(verified, now) };
    } catch (e) {
      if (!(e instanceof DeliveryError)) throw e;
      pushCapped(this.refused, { reason: e.reason, received_at: now.toISOString() });
      return { status: 400, answer: { error: 'invalid_delivery', reason: e.reason } };
    }
  }

  /** The checks that need memory, then the event applied (see the top of this file). */
  accept({ podId, claims, receipt }, now = new Date()) {
    const at = now.toISOString();
    const conn = this.connections[claims.state];
    if (!conn) throw new DeliveryError('unknown state: this company made no request with it');
    if (conn.pod_id !== null && conn.pod_id !== podId) {
      throw new DeliveryError('this state belongs to another pod');
    }
    if (conn.request_id !== null && conn.request_id !== claims.request_id) {
      throw new DeliveryError('this state belongs to another request');
    }
    if (conn.seen_jtis.includes(claims.jti)) {
      pushCapped(this.duplicates, { jti: claims.jti, seq: claims.seq, state: claims.state, received_at: at });
      return { answer: { ok: true, duplicate: true }, connection: conn, duplicate: true };
    }
    if (claims.seq <= conn.last_seq) {
      throw new DeliveryError(`seq ${claims.seq} is not after ${conn.last_seq}, the last one received`);
    }
    if (conn.grant_id !== null && claims.grant_id !== undefined && claims.grant_id !== conn.grant_id) {
      throw new DeliveryError('this request was granted under another grant_id');
    }

    // Every check passed: pin, record, apply.
    conn.pod_id = podId;
    conn.request_id = claims.request_id;
    for (let missing = conn.last_seq + 1; missing < claims.seq; missing += 1) conn.gaps.push(missing);
    conn.last_seq = claims.seq;
    conn.seen_jtis.push(claims.jti);
    if (receipt) conn.receipts.push({ event: claims.event.type, receipt_id: receipt.jti, type: receipt.event?.type });
    applyEvent(conn, claims);

    const delivery = {
      jti: claims.jti,
      seq: claims.seq,
      state: claims.state,
      request_id: claims.request_id,
      grant_id: claims.grant_id ?? null,
      pod_id: podId,
      event: claims.event.type,
      ...(claims.event.type === 'granted' ? { part: claims.event.part, parts: claims.event.parts } : {}),
      received_at: at,
    };
    pushCapped(this.deliveries, delivery);
    return { answer: { ok: true }, connection: conn, delivery, duplicate: false };
  }

  /** The connection granted under `grantId`, if any. */
  byGrant(grantId) {
    return Object.values(this.connections).find((c) => c.grant_id === grantId) ?? null;
  }

  /** Everything, as JSON (also what `GET /received` shows). */
  snapshot() {
    return {
      client_id: this.clientId,
      connections: this.connections,
      deliveries: this.deliveries,
      duplicates: this.duplicates,
      refused: this.refused,
    };
  }
}

function applyEvent(conn, claims) {
  const event = claims.event;
  switch (event.type) {
    case 'granted':
      conn.status = 'granted';
      conn.grant_id = claims.grant_id;
      conn.grant = event.grant;
      if (!conn.parts_received.includes(event.part)) conn.parts_received.push(event.part);
      conn.parts = event.parts;
      for (const res of event.resources) conn.resources[res.path] = resourceView(res);
      break;
    case 'denied':
      conn.status = 'denied';
      break;
    case 'updated':
      conn.updates += 1;
      for (const change of event.changes) {
        if (change.change === 'deleted') delete conn.resources[change.path];
        else conn.resources[change.path] = resourceView(change);
      }
      break;
    case 'revoked':
    case 'expired':
      conn.status = event.type;
      conn.ended_at = event.at ?? null;
      break;
  }
}

/** A resource as kept: what the pod sent, without the `change` word. */
function resourceView({ change: _change, ...res }) {
  return res;
}
