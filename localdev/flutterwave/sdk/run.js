#!/usr/bin/env node
'use strict';
/**
 * Runs flutterwave-node-v3 calls against the local emulator, one JSON line in, one JSON line out.
 *
 *   FLW_BASE_URL=http://127.0.0.1:3004/ FLW_SECRET_KEY=FLWSECK_TEST-local node run.js
 *   > {"id": 1, "call": "Transaction.verify", "args": {"id": 8321001}}
 *   < {"id": 1, "ok": true, "result": {"status": "success", "message": "...", "data": {...}}}
 *
 * `call` is "<Namespace>.<method>" of the SDK object (Transaction.verify, Transfer.initiate, ...);
 * `result` is what the SDK resolved with; a rejection (the SDK's own validation, a network error)
 * is {"ok": false, "error": {"name", "message", "code"}}. {"id": n, "op": "status"} reports the
 * guards and what the SDK tried to send to its telemetry. Every socket is held to loopback
 * (guard.js) and the SDK's telemetry is a no-op (telemetry-stub.js): see load-sdk.js.
 *
 * FLW_PUBLIC_KEY defaults to FLWPUBK_TEST-local; the base URL is passed to the SDK as it is (the
 * SDK appends "v3/..." to it, so it must end with "/").
 */
const readline = require('node:readline');

const { client, guard, stub } = require('./load-sdk');

const baseUrl = process.env.FLW_BASE_URL;
if (!baseUrl) {
  process.stderr.write('FLW_BASE_URL is required (the emulator, e.g. http://127.0.0.1:3004/)\n');
  process.exit(2);
}
if (!guard.isLoopbackHost(new URL(baseUrl).hostname)) {
  process.stderr.write(`FLW_BASE_URL must be a loopback address, not ${baseUrl}\n`);
  process.exit(2);
}
const flw = client({
  publicKey: process.env.FLW_PUBLIC_KEY || 'FLWPUBK_TEST-local',
  secretKey: process.env.FLW_SECRET_KEY || 'FLWSECK_TEST-local',
  baseUrl,
});

async function answer(message) {
  if (message.op === 'status') {
    return { guards: guard.status(), telemetry: { stub: stub.stub === true, calls: stub.calls } };
  }
  const [namespace, method, extra] = String(message.call || '').split('.');
  const target = flw[namespace];
  if (extra !== undefined || target === undefined || typeof target[method] !== 'function') {
    throw new Error(`unknown SDK call ${message.call}`);
  }
  return target[method](message.args);
}

function describe(error) {
  return { name: error && error.name, message: error && String(error.message), code: error && error.code };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let pending = Promise.resolve();
lines.on('line', (line) => {
  if (!line.trim()) return;
  // One call at a time, in order: each answer is written before the next call starts.
  pending = pending.then(async () => {
    let message = {};
    let reply;
    try {
      message = JSON.parse(line);
      reply = { id: message.id, ok: true, result: await answer(message) };
    } catch (error) {
      reply = { id: message.id, ok: false, error: describe(error) };
    }
    process.stdout.write(`${JSON.stringify(reply === undefined ? null : reply)}\n`);
  });
});
lines.on('close', () => {
  pending.then(() => process.exit(0));
});
