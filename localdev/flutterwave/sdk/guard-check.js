#!/usr/bin/env node
'use strict';
/**
 * Proves the loopback guard and the telemetry stub without sending anything anywhere.
 *
 * Before anything is installed, the real ways out (Socket#connect, fetch, https.request,
 * dns.lookup) are replaced by recorders that only note they were reached. Then load-sdk.js
 * installs the guard (wrapping the recorders) and loads the SDK; each probe below reports whether
 * it was refused and whether the recorder (the network) was reached. Prints one JSON object.
 */
const dns = require('node:dns');
const https = require('node:https');
const net = require('node:net');
const { EventEmitter } = require('node:events');

const reached = { connect: [], fetch: [], https: [], dns: [] };
net.Socket.prototype.connect = function recordConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  reached.connect.push(typeof first === 'object' ? String(first.host) : String(args[1]));
  return this;
};
globalThis.fetch = async (input) => {
  reached.fetch.push(String(input));
  return new Response('{}', { status: 200 });
};
https.request = (...args) => {
  reached.https.push(typeof args[0] === 'object' ? String(args[0].hostname) : String(args[0]));
  const request = new EventEmitter();
  Object.assign(request, { end() {}, write() {}, setTimeout() {}, destroy() {} });
  return request;
};
dns.lookup = (hostname, ...rest) => {
  reached.dns.push(hostname);
  const callback = rest[rest.length - 1];
  if (typeof callback === 'function') process.nextTick(() => callback(null, '127.0.0.1', 4));
};

const { client, guard, stub, telemetryFile } = require('./load-sdk');

function socketProbe(host) {
  return new Promise((resolve) => {
    const socket = new net.Socket();
    const before = reached.connect.length;
    socket.on('error', (error) => resolve({ host, refused: error.code === guard.CODE, reached: false }));
    socket.connect({ host, port: 9 });
    setTimeout(() => resolve({ host, refused: false, reached: reached.connect.length > before }), 50);
  });
}

async function fetchProbe(url) {
  const before = reached.fetch.length;
  try {
    await fetch(url);
    return { url, refused: false, reached: reached.fetch.length > before };
  } catch (error) {
    return { url, refused: error.code === guard.CODE, reached: reached.fetch.length > before };
  }
}

function dnsProbe(hostname) {
  return new Promise((resolve) => {
    const before = reached.dns.length;
    dns.lookup(hostname, (error) => {
      resolve({ hostname, refused: Boolean(error && error.code === guard.CODE), reached: reached.dns.length > before });
    });
  });
}

async function main() {
  const flw = client({ publicKey: 'FLWPUBK_TEST-local', secretKey: 'FLWSECK_TEST-local', baseUrl: 'http://127.0.0.1:9/' });
  await new Promise((resolve) => setTimeout(resolve, 50)); // let any telemetry the constructor started run
  let udpRefused = false;
  try {
    require('node:dgram').createSocket('udp4');
  } catch (error) {
    udpRefused = error.code === guard.CODE;
  }
  const report = {
    guards: guard.status(),
    loopback: ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]'].map((h) => [h, guard.isLoopbackHost(h)]),
    elsewhere: ['192.0.2.1', '10.0.0.1', '172.17.0.1', 'api.flutterwave.com', '::ffff:8.8.8.8', '128.0.0.1'].map(
      (h) => [h, guard.isLoopbackHost(h)],
    ),
    sockets: [await socketProbe('192.0.2.1'), await socketProbe('api.flutterwave.com'), await socketProbe('127.0.0.1')],
    fetches: [await fetchProbe('https://api.flutterwave.com/v3/transfers'), await fetchProbe('http://127.0.0.1:9/x')],
    lookups: [await dnsProbe('signozservice-prod.f4b-flutterwave.com'), await dnsProbe('localhost')],
    udp_refused: udpRefused,
    telemetry: {
      stubbed: require(telemetryFile) === stub,
      sdk_built: typeof flw.Transaction.verify === 'function',
      init_calls: stub.calls.init,
      https_requests: reached.https,
    },
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
