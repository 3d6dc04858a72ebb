// The example company's settings, from command-line flags or environment
// variables (a flag wins). README.md lists them.

import { parseArgs } from 'node:util';

const OPTIONS = {
  host: { type: 'string', env: 'COMPANY_HOST', help: 'public host name in every URL (default shop.test; 127.0.0.1 with --http)' },
  port: { type: 'string', env: 'COMPANY_PORT', help: 'port to listen on, also the public one (default 8443; 0: any free port)' },
  bind: { type: 'string', env: 'COMPANY_BIND', help: 'address to listen on (default 127.0.0.1)' },
  cert: { type: 'string', env: 'COMPANY_TLS_CERT', help: 'PEM certificate (chain) for the host name' },
  key: { type: 'string', env: 'COMPANY_TLS_KEY', help: 'PEM private key of that certificate' },
  http: { type: 'boolean', env: 'COMPANY_UNSAFE_HTTP', help: 'plain HTTP, for custodian --unsafe-allow-http-loopback only' },
  'data-dir': { type: 'string', env: 'COMPANY_DATA_DIR', help: 'keep the signing key and everything received here (default: memory only)' },
  name: { type: 'string', env: 'COMPANY_NAME', help: 'client_name (default Shop)' },
  alg: { type: 'string', env: 'COMPANY_ALG', help: 'request signing algorithm: EdDSA (default) or ES256' },
  'test-controls': { type: 'boolean', env: 'COMPANY_TEST_CONTROLS', help: 'serve /test/* (outage, feed items) for automated tests' },
  help: { type: 'boolean', help: 'this help' },
};

export function usage() {
  const lines = Object.entries(OPTIONS).map(
    ([name, o]) => `  --${name.padEnd(14)} ${o.env ? `${o.env.padEnd(22)}` : ''.padEnd(22)} ${o.help}`,
  );
  return `node server.mjs [flags]\n  flag             environment            meaning\n${lines.join('\n')}\n`;
}

const truthy = (v) => v === '1' || v === 'true' || v === 'yes';

/** Reads the settings from `argv` and `env`; throws with a one-line message when they do not fit. */
export function readConfig(argv = process.argv.slice(2), env = process.env) {
  const parseOptions = Object.fromEntries(Object.entries(OPTIONS).map(([n, o]) => [n, { type: o.type }]));
  const { values } = parseArgs({ args: argv, options: parseOptions, strict: true });
  const get = (name) => {
    if (values[name] !== undefined) return values[name];
    const fromEnv = OPTIONS[name].env && env[OPTIONS[name].env];
    if (fromEnv === undefined || fromEnv === '') return undefined;
    return OPTIONS[name].type === 'boolean' ? truthy(fromEnv) : fromEnv;
  };
  const http = get('http') ?? false;
  const config = {
    help: values.help ?? false,
    http,
    host: get('host') ?? (http ? '127.0.0.1' : 'shop.test'),
    port: Number(get('port') ?? 8443),
    bind: get('bind') ?? '127.0.0.1',
    cert: get('cert'),
    key: get('key'),
    dataDir: get('data-dir'),
    name: get('name') ?? 'Shop',
    alg: get('alg') ?? 'EdDSA',
    testControls: get('test-controls') ?? false,
  };
  if (config.help) return config;
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new Error('--port must be a port number (0 for any free one)');
  }
  if (!http && (!config.cert || !config.key)) {
    throw new Error('--cert and --key (COMPANY_TLS_CERT, COMPANY_TLS_KEY) are required, or --http for the unsafe loopback switch');
  }
  if (!/^[A-Za-z0-9.-]+$/.test(config.host) && !/^\[[0-9a-fA-F:]+\]$/.test(config.host)) {
    throw new Error('--host must be a host name (or an IP address)');
  }
  return config;
}
