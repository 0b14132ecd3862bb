'use strict';
/**
 * Stands in for flutterwave-node-v3's utils/logger.js, the SDK's telemetry: the real module
 * reports to Flutterwave's own hosts from the constructor on (init, every request, errors,
 * transactions) and writes a state file in the temp folder. Same exports, no effect; `calls`
 * counts what the SDK tried to report, for the tests.
 */
const calls = { init: 0, logRequest: 0, logError: 0, logTransaction: 0 };

module.exports = {
  stub: true,
  calls,
  init() {
    calls.init += 1;
    return Promise.resolve();
  },
  async logRequest() {
    calls.logRequest += 1;
  },
  async logError() {
    calls.logError += 1;
  },
  async logTransaction() {
    calls.logTransaction += 1;
  },
  // utils/error.js destructures errorLog from this module (an older winston logger's name).
  errorLog: { error() {} },
};
