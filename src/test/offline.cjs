// Preloaded (`node --require`) into a child process that must stay offline, such as the OpenAPI
// linter in src/app/openapi-lint.test.ts: every attempt to open a network connection or resolve
// a host name is written to stderr as `OFFLINE GUARD: …` and fails, so the test can assert that
// none was made. Local IPC (a socket path, as used by worker pipes) is allowed.
const net = require('node:net');
const dns = require('node:dns');

const MARK = 'OFFLINE GUARD:';
const refuse = (what) => {
  process.stderr.write(`${MARK} ${what}\n`);
  return new Error(`network access is disabled in this process (${what})`);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'string' || (first && typeof first === 'object' && first.path)) {
    return connect.apply(this, args);
  }
  const target =
    first && typeof first === 'object'
      ? `${first.host ?? 'localhost'}:${first.port}`
      : `${args[1] ?? 'localhost'}:${first}`;
  throw refuse(`connect ${target}`);
};

dns.lookup = (hostname, _options, callback) => {
  const cb = typeof _options === 'function' ? _options : callback;
  process.nextTick(() => cb(refuse(`dns lookup ${hostname}`)));
};
dns.promises.lookup = async (hostname) => {
  throw refuse(`dns lookup ${hostname}`);
};
