'use strict';
/**
 * Holds every socket of this process to the loopback range (127.0.0.0/8, ::1, localhost).
 *
 * Installed before the SDK loads. Anything else is refused before a packet leaves: TCP and TLS
 * sockets (net.Socket.prototype.connect: http, https and Node's fetch all end there), fetch()
 * itself (a clear error before undici starts), DNS lookups of any other name, and UDP sockets
 * (none is needed). A refused connection fails as a connection error would, with
 * code ERR_LOOPBACK_ONLY.
 */
const dgram = require('node:dgram');
const dns = require('node:dns');
const net = require('node:net');

const CODE = 'ERR_LOOPBACK_ONLY';
const marks = {};

function isLoopbackHost(host) {
  if (host === undefined || host === null || host === '') return true; // Node's default is localhost
  const name = String(host).trim().toLowerCase().replace(/^\[/, '').replace(/\]$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (net.isIPv4(name)) return name.split('.')[0] === '127';
  if (net.isIPv6(name)) return name === '::1' || /^::ffff:127\.\d+\.\d+\.\d+$/.test(name);
  return false;
}

function refusal(what) {
  const error = new Error(`loopback only: refused ${what}`);
  error.code = CODE;
  return error;
}

/** Where a Socket#connect call goes: its arguments may be (options), (port, host) or Node's normalized array. */
function target(args) {
  let first = args[0];
  if (Array.isArray(first)) first = first[0];
  if (first !== null && typeof first === 'object') return { host: first.host, path: first.path };
  if (typeof first === 'string' && Number.isNaN(Number(first))) return { path: first };
  return { host: typeof args[1] === 'string' ? args[1] : undefined };
}

function guardSockets() {
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connect(...args) {
    const { host, path } = target(args);
    if (path === undefined && !isLoopbackHost(host)) {
      const error = refusal(`a connection to ${host}`);
      process.nextTick(() => this.destroy(error));
      return this;
    }
    return original.apply(this, args);
  };
  marks.sockets = net.Socket.prototype.connect;
}

function guardFetch() {
  const original = globalThis.fetch;
  if (typeof original !== 'function') return;
  globalThis.fetch = function fetch(input, init) {
    let url;
    try {
      url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!isLoopbackHost(url.hostname)) return Promise.reject(refusal(`fetch ${url.origin}`));
    return original.call(this, input, init);
  };
  marks.fetch = globalThis.fetch;
}

function guardDns() {
  const lookup = dns.lookup;
  dns.lookup = function guardedLookup(hostname, ...rest) {
    if (!isLoopbackHost(hostname)) {
      const callback = rest[rest.length - 1];
      const error = refusal(`a DNS lookup of ${hostname}`);
      if (typeof callback === 'function') process.nextTick(() => callback(error));
      return undefined;
    }
    return lookup.call(this, hostname, ...rest);
  };
  const promisesLookup = dns.promises.lookup;
  dns.promises.lookup = function guardedPromisesLookup(hostname, ...rest) {
    if (!isLoopbackHost(hostname)) return Promise.reject(refusal(`a DNS lookup of ${hostname}`));
    return promisesLookup.call(this, hostname, ...rest);
  };
  marks.dns = dns.lookup;
}

function guardUdp() {
  dgram.createSocket = function createSocket() {
    throw refusal('a UDP socket');
  };
  marks.udp = dgram.createSocket;
}

let installed = false;

function install() {
  if (installed) return;
  guardSockets();
  guardFetch();
  guardDns();
  guardUdp();
  installed = true;
}

/** Which guards are in place now (nothing replaced them since install). */
function status() {
  return {
    sockets: marks.sockets !== undefined && net.Socket.prototype.connect === marks.sockets,
    fetch: marks.fetch !== undefined && globalThis.fetch === marks.fetch,
    dns: marks.dns !== undefined && dns.lookup === marks.dns,
    udp: marks.udp !== undefined && dgram.createSocket === marks.udp,
  };
}

module.exports = { CODE, install, isLoopbackHost, status };
