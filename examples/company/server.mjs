// An example company ("Shop") integrating with Custodian over the internet:
//
//   GET  /custodian/client.json     its client metadata document (client_id)
//   GET  /custodian/jwks.json       its public JWK Set (jwks_uri)
//   GET  /custodian/requests/ID     a signed request object (request_uri)
//   POST /custodian/deliveries      deliveries from the person's pod (delivery_uri)
//   GET  /custodian/feed            order receipts for an append grant (feed_uri)
//   GET  /                          a page with a fresh custodian://connect link
//   POST /connect                   the same as JSON: {link, request_uri, state, …}
//   GET  /received                  what it was delivered, as JSON (demo and tests;
//                                   a real company would never publish this)
//   /test/*                         only with --test-controls (README.md)
//
// Run `node server.mjs --help`; docs/companies.md explains every message.

import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer } from 'node:http';
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readConfig, usage } from './config.mjs';
import { jwks, loadOrMakeSigningKey, randomId, signFeedItem, signRequestObject } from './keys.mjs';
import { Inbox } from './inbox.mjs';
import { MAX_DELIVERY_BYTES } from './verify.mjs';
import { Feed, appendContainer, orderReceipt } from './feed.mjs';

/** What the company asks for when /connect names nothing else. */
export const DEFAULT_ASK = [
  {
    type: 'pod_access',
    paths: ['/contact/', '/preferences/communication'],
    actions: ['read'],
    purpose: 'Sending your order updates the way you prefer',
  },
  {
    type: 'pod_access',
    paths: ['/purchases/'],
    actions: ['append'],
    purpose: 'Keeping your order receipts in your vault',
  },
];
export const DEFAULT_GRANT_LIFETIME = 30 * 24 * 3600;

/** `https://host[:port]`, the port left out when it is the scheme's default (as URL parsers write it). */
export function originOf({ http, host, port }) {
  const scheme = http ? 'http' : 'https';
  const defaultPort = http ? 80 : 443;
  return port === defaultPort ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
}

/** The custodian://connect link for a request object at `requestUri`. */
export function connectLink(clientId, requestUri) {
  return `custodian://connect?client_id=${encodeURIComponent(clientId)}&request_uri=${encodeURIComponent(requestUri)}`;
}

/**
 * Starts the company. `config` is what config.mjs reads. Returns
 * `{ origin, clientId, newRequest, inbox, feed, close }` once it listens.
 */
export async function startCompany(config, { log = console.log } = {}) {
  if (config.dataDir) mkdirSync(config.dataDir, { recursive: true });
  const stateFile = config.dataDir && join(config.dataDir, 'state.json');
  const saved = stateFile ? readJson(stateFile) : null;
  const signingKey = await loadOrMakeSigningKey({
    file: config.dataDir && join(config.dataDir, 'signing-key.json'),
    alg: config.alg,
  });

  const tls = config.http ? null : { cert: readFileSync(config.cert), key: readFileSync(config.key) };
  const handlers = { handle: null };
  const server = tls
    ? createHttpsServer(tls, (req, res) => handlers.handle(req, res))
    : createHttpServer((req, res) => handlers.handle(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.bind, resolve);
  });
  const port = server.address().port;

  // Every URL of the company, on one origin.
  const origin = originOf({ http: config.http, host: config.host, port });
  const clientId = `${origin}/custodian/client.json`;
  const metadata = {
    client_id: clientId,
    client_name: config.name,
    client_uri: `${origin}/`,
    logo_uri: `${origin}/logo.svg`,
    policy_uri: `${origin}/privacy`,
    contacts: [`privacy@${config.host}`],
    jwks_uri: `${origin}/custodian/jwks.json`,
    delivery_uri: `${origin}/custodian/deliveries`,
    feed_uri: `${origin}/custodian/feed`,
  };

  // What the company remembers (kept in DATA_DIR/state.json when one is named).
  if (saved && saved.client_id !== clientId) {
    throw new Error(`${stateFile} belongs to ${saved.client_id}, not ${clientId}: start with the same host and port, or another --data-dir`);
  }
  const inbox = new Inbox({ clientId, snapshot: saved?.inbox });
  const feed = new Feed({ snapshot: saved?.feed });
  const requests = saved?.requests ?? {}; // request id → { jws, state, exp }
  let nextOrder = saved?.next_order ?? 1001;
  const outage = { status: null, retryAfter: null, remaining: null, answered: saved?.outage_answered ?? 0 };
  const save = () => {
    if (!stateFile) return;
    const snapshot = {
      client_id: clientId,
      inbox: inbox.snapshot(),
      feed: feed.snapshot(),
      requests,
      next_order: nextOrder,
      outage_answered: outage.answered,
    };
    // Synchronous and atomic (write, then rename): a delivery is answered
    // 2xx only once what it brought is on disk.
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(snapshot));
    renameSync(`${stateFile}.tmp`, stateFile);
  };

  /** Signs a fresh request object and returns its link. */
  async function newRequest({ details = DEFAULT_ASK, grantLifetime = DEFAULT_GRANT_LIFETIME } = {}) {
    const id = randomId('', 12);
    const requestUri = `${origin}/custodian/requests/${id}`;
    const state = randomId('st_', 12);
    const { jws, claims } = await signRequestObject(signingKey, { clientId, details, grantLifetime, state });
    requests[id] = { jws, state, exp: claims.exp };
    inbox.addRequest({ state, requestUri, details, grantLifetime });
    save();
    return {
      link: connectLink(clientId, requestUri),
      client_id: clientId,
      request_uri: requestUri,
      state,
      expires_at: new Date(claims.exp * 1000).toISOString(),
    };
  }

  /** Publishes one order receipt for `grantId` (signed by `key`, the company's own unless a test says otherwise). */
  async function publishOrder(grantId, key = signingKey) {
    const conn = inbox.byGrant(grantId);
    const container = appendContainer(conn?.grant);
    if (!conn || !container) return null;
    const item = orderReceipt({ container, orderNumber: nextOrder, shopName: config.name });
    nextOrder += 1;
    feed.add(grantId, await signFeedItem(key, { clientId, podId: conn.pod_id, grantId, item }));
    save();
    return item;
  }

  async function receiveDelivery(req, res) {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/jwt') {
      return sendJson(res, 415, { error: 'invalid_delivery', reason: 'Content-Type must be application/jwt' });
    }
    const body = await readBody(req, MAX_DELIVERY_BYTES);
    if (body === null) return sendJson(res, 413, { error: 'invalid_delivery', reason: 'body over 1 MiB' });
    if (outage.status !== null) {
      // A test asked for an outage: answer without looking at the delivery.
      const status = outage.status;
      const headers = outage.retryAfter !== null ? { 'Retry-After': String(outage.retryAfter) } : {};
      outage.answered += 1;
      if (outage.remaining !== null && --outage.remaining <= 0) outage.status = null;
      save();
      return sendJson(res, status, { error: 'temporarily_unavailable' }, headers);
    }
    // Verified (or refused) and applied in memory…
    const result = await inbox.receive(body);
    if (result.status !== 200) {
      log(`delivery refused: ${result.answer.reason}`);
    } else if (result.duplicate) {
      log(`delivery duplicate (already received) state=${result.connection.state}`);
    } else {
      const d = result.delivery;
      log(`delivery ${d.event} seq=${d.seq} jti=${d.jti} state=${d.state}`);
      // A fresh grant with append on a container: the shop files the
      // person's latest order receipt there, through its feed.
      if (d.event === 'granted' && d.part === 1) await publishOrder(d.grant_id);
    }
    // …and on disk before the answer: 2xx means "kept".
    save();
    return sendJson(res, result.status, result.answer);
  }

  async function testControl(req, res, path) {
    const body = await readBody(req, 64 * 1024);
    let input = {};
    try {
      input = body ? JSON.parse(body) : {};
    } catch {
      return sendJson(res, 400, { error: 'invalid_request', reason: 'body is not JSON' });
    }
    if (path === '/test/outage' && req.method === 'POST') {
      outage.status = input.status ?? 503;
      outage.retryAfter = input.retry_after ?? null;
      outage.remaining = input.count ?? null;
      return sendJson(res, 200, { outage: { status: outage.status, retry_after: outage.retryAfter, count: outage.remaining } });
    }
    if (path === '/test/outage' && req.method === 'DELETE') {
      outage.status = null;
      return sendJson(res, 200, { outage: null });
    }
    if (path === '/test/feed' && req.method === 'POST') {
      // `bad_signature: true` signs the item with a key that is not in the
      // JWK Set: the desktop must refuse that item and still take the others.
      const key = input.bad_signature ? await loadOrMakeSigningKey({ alg: config.alg }) : signingKey;
      const item = await publishOrder(input.grant_id, key);
      if (!item) return sendJson(res, 404, { error: 'not_found', reason: 'no grant with append on a container by that id' });
      return sendJson(res, 200, { published: item, bad_signature: Boolean(input.bad_signature) });
    }
    return sendJson(res, 404, { error: 'not_found' });
  }

  handlers.handle = async (req, res) => {
    try {
      const url = new URL(req.url, origin);
      const path = url.pathname;
      const get = req.method === 'GET' || req.method === 'HEAD';
      if (get && path === '/custodian/client.json') return sendJson(res, 200, metadata);
      if (get && path === '/custodian/jwks.json') return sendJson(res, 200, jwks(signingKey), {}, 'application/jwk-set+json');
      if (get && path.startsWith('/custodian/requests/')) {
        const found = requests[path.slice('/custodian/requests/'.length)];
        if (!found) return sendJson(res, 404, { error: 'not_found' });
        return send(res, 200, 'application/oauth-authz-req+jwt', found.jws);
      }
      if (req.method === 'POST' && path === '/custodian/deliveries') return await receiveDelivery(req, res);
      if (get && path === '/custodian/feed') {
        const grantId = url.searchParams.get('grant_id') ?? '';
        const conn = inbox.byGrant(grantId);
        // Only while the grant lasts, as far as the company knows.
        const page = conn && conn.status === 'granted' ? feed.page(grantId, url.searchParams.get('after')) : { items: [], next: url.searchParams.get('after') ?? '' };
        if (!page) return sendJson(res, 400, { error: 'invalid_request', reason: 'unknown cursor' });
        return sendJson(res, 200, page);
      }
      if (req.method === 'POST' && path === '/connect') {
        const input = JSON.parse((await readBody(req, 64 * 1024)) || '{}');
        return sendJson(res, 201, await newRequest({ details: input.authorization_details, grantLifetime: input.grant_lifetime }));
      }
      if (get && path === '/received') return sendJson(res, 200, { ...inbox.snapshot(), feed: feed.snapshot().items, outage_answered: outage.answered });
      if (get && path === '/') return send(res, 200, 'text/html; charset=utf-8', homePage(config.name, (await newRequest()).link));
      if (get && path === '/logo.svg') return send(res, 200, 'image/svg+xml', LOGO);
      if (get && path === '/privacy') return send(res, 200, 'text/plain; charset=utf-8', `${config.name} reads only what you grant, for the purpose it states.\n`);
      if (config.testControls && path.startsWith('/test/')) return await testControl(req, res, path);
      return sendJson(res, 404, { error: 'not_found' });
    } catch (e) {
      log(`error: ${e.message}`);
      if (!res.headersSent) {
        const bad = e instanceof SyntaxError; // a JSON body that does not parse
        sendJson(res, bad ? 400 : 500, { error: bad ? 'invalid_request' : 'server_error', reason: e.message });
      }
    }
  };

  return {
    origin,
    clientId,
    metadata,
    signingKey,
    inbox,
    feed,
    newRequest,
    publishOrder,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw new Error(`cannot read ${file}: ${e.message}`);
  }
}

/** The request body as text, or null when it is longer than `cap` bytes. */
function readBody(req, cap) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > cap) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, type, text, headers = {}) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

function sendJson(res, status, value, headers = {}, type = 'application/json') {
  send(res, status, type, JSON.stringify(value), headers);
}

function homePage(name, link) {
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  return `<!doctype html><meta charset="utf-8"><title>${esc(name)}</title>
<h1>${esc(name)}</h1>
<p>Keep your order receipts in your own Custodian vault, and tell us how you like to be contacted.</p>
<p><a href="${esc(link)}">Connect with Custodian</a></p>
<p>Or paste this link into Custodian (Sharing → Connect a company, or <code>custodian connect</code>):</p>
<pre>${esc(link)}</pre>
<p><small>Valid for 10 minutes; reload for a new one.</small></p>\n`;
}

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#2f6f4e"/><path d="M16 24h32l-4 24H20z" fill="#fff"/><path d="M24 24c0-6 4-10 8-10s8 4 8 10" stroke="#fff" stroke-width="4" fill="none"/></svg>`;

async function main() {
  let config;
  try {
    config = readConfig();
  } catch (e) {
    process.stderr.write(`server.mjs: ${e.message}\n${usage()}`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(usage());
    return;
  }
  if (config.http) console.error('WARNING: plain HTTP, only for custodian --unsafe-allow-http-loopback');
  const company = await startCompany(config);
  const first = await company.newRequest();
  // The lines a person or a test reads; `ready` comes last.
  console.log(`client_id ${company.clientId}`);
  console.log(`link ${first.link}`);
  console.log(`ready ${company.origin}`);
  const stop = () => company.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`server.mjs: ${e.message}\n`);
    process.exit(1);
  });
}
