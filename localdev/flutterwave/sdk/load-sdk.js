'use strict';
/**
 * Loads flutterwave-node-v3 with the loopback guard on and its telemetry module replaced.
 *
 * Order matters: the guard is installed first, then a Module._load hook answers every require of
 * the SDK's utils/logger.js (by resolved file name, whoever asks) with telemetry-stub.js, and only
 * then is the SDK required.
 */
const Module = require('node:module');
const path = require('node:path');

const guard = require('./guard');

guard.install();

const stub = require('./telemetry-stub');
const sdkRoot = path.dirname(require.resolve('flutterwave-node-v3/package.json'));
const telemetryFile = path.join(sdkRoot, 'utils', 'logger.js');

const load = Module._load;
Module._load = function loadWithoutTelemetry(request, parent, isMain) {
  let file;
  try {
    file = Module._resolveFilename(request, parent, isMain);
  } catch {
    return load.apply(this, [request, parent, isMain]);
  }
  if (file === telemetryFile) return stub;
  return load.apply(this, [request, parent, isMain]);
};

const Flutterwave = require('flutterwave-node-v3');

/** The SDK as merchants construct it: (public key, secret key, base URL ending in "/"). */
function client({ publicKey, secretKey, baseUrl }) {
  return new Flutterwave(publicKey, secretKey, baseUrl);
}

module.exports = { Flutterwave, client, guard, stub, telemetryFile };
