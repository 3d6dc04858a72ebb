// Settings: a flag wins over its environment variable; TLS is required
// unless plain HTTP is asked for by name.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { readConfig } from '../config.mjs';

test('flags win over the environment, which wins over the defaults', () => {
  const env = { COMPANY_HOST: 'env.test', COMPANY_PORT: '9000', COMPANY_TLS_CERT: 'c.pem', COMPANY_TLS_KEY: 'k.pem', COMPANY_TEST_CONTROLS: '1' };
  const config = readConfig(['--host', 'flag.test'], env);
  assert.equal(config.host, 'flag.test');
  assert.equal(config.port, 9000);
  assert.equal(config.cert, 'c.pem');
  assert.equal(config.testControls, true);
  assert.equal(config.bind, '127.0.0.1');
  assert.equal(config.name, 'Shop');
});

test('TLS files are required unless --http', () => {
  assert.throws(() => readConfig([], {}), /--cert and --key/);
  const http = readConfig(['--http', '--port', '0'], {});
  assert.equal(http.http, true);
  assert.equal(http.host, '127.0.0.1');
  assert.equal(http.port, 0);
});

test('a bad port, host or flag is refused', () => {
  assert.throws(() => readConfig(['--http', '--port', '70000'], {}), /--port must be a port number/);
  assert.throws(() => readConfig(['--http', '--host', 'shop.test/evil'], {}), /--host must be a host name/);
  assert.throws(() => readConfig(['--nope'], {}), /Unknown option/);
});
