// A fake SPIFFE Workload API server (identity-standards §4, §10.4) for testing Warden's
// client against an independent gRPC implementation: @grpc/grpc-js serving OUR
// proto/workload.proto (loaded with keepCase, so field names are the proto's own).
//
// Usage:
//   node workload_fake_server.mjs <socket-path> [scenario.json] [--proto <workload.proto>]
//
// Listens on the unix socket <socket-path> (removed first if it exists) and prints "READY"
// on stdout once bound. Every call is logged on stderr as one line:
//   CALL <Method> n=<call number, from 1> header=<value(s) of workload.spiffe.io|missing>
// every X509SVIDResponse sent as "SENT FetchX509SVID <index>", and every admitted
// FetchJWTSVID request as "JWTSVID audience=<a,b,...> spiffe_id=<id|(none)>" (what the
// client asked for). SIGTERM/SIGINT stop it.
//
// The scenario (JSON; every key optional; bytes are base64 of DER):
// {
//   "require_header": true,      // SPIRE's check: exactly one value "true", else
//                                // INVALID_ARGUMENT "security header missing from request"
//   "fail_first": {"count": 2, "code": 14, "details": "agent starting",
//                  "method": "FetchX509SVID"},   // fail the first N calls (of that method,
//                                                // or of any method when omitted)
//   "x509": {
//     "error": {"code": 7, "details": "no identity issued"},  // every call fails so
//     "responses": [                // else sent in order, each after its delay_ms
//       {"delay_ms": 0,
//        "svids": [{"spiffe_id": "spiffe://td/w", "x509_svid": "<b64 DER chain, leaf first>",
//                   "x509_svid_key": "<b64 PKCS#8>", "bundle": "<b64 DER roots>", "hint": ""}],
//        "federated_bundles": {"spiffe://other": "<b64 DER roots>"},
//        "crl": ["<b64>"]}
//     ],
//     "end": "hold"                 // after the last response: "hold" the stream open
//                                   // (default), "ok" to end it, or {"code","details"}
//   },
//   "x509_bundles": {"responses": [{"bundles": {"spiffe://td": "<b64>"}}], "end": "hold"},
//   "jwt_bundles":  {"responses": [{"bundles": {"spiffe://td": "<JWKS JSON text>"}}]},
//   "jwt_svid": {"svids": [{"spiffe_id": "...", "svid": "<compact JWS>", "hint": ""}],
//                "error": {...}},   // audience is required (INVALID_ARGUMENT without one)
//   "validate": {"svid": "<token>", "spiffe_id": "...", "claims": {...}}
//                                   // the token given answers with that; others get
//                                   // INVALID_ARGUMENT
// }
// WIT RPCs always answer UNIMPLEMENTED, as a server without WIT support must.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(message) {
  process.stderr.write(`workload_fake_server: ${message}\n` +
    'usage: node workload_fake_server.mjs <socket-path> [scenario.json] [--proto <file>]\n');
  process.exit(2);
}

const positional = [];
let protoPath = path.resolve(here, '../../proto/workload.proto');
for (let i = 2; i < process.argv.length; ++i) {
  const arg = process.argv[i];
  if (arg === '--proto') {
    if (i + 1 >= process.argv.length) usage('--proto needs a path');
    protoPath = process.argv[++i];
  } else {
    positional.push(arg);
  }
}
if (positional.length < 1 || positional.length > 2) usage('expected a socket path');
const socketPath = path.resolve(positional[0]);
let scenario = {};
if (positional.length === 2) {
  try {
    scenario = JSON.parse(fs.readFileSync(positional[1], 'utf8'));
  } catch (e) {
    usage(`cannot read scenario ${positional[1]}: ${e.message}`);
  }
}

const definition = protoLoader.loadSync(protoPath, {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const service = grpc.loadPackageDefinition(definition).SpiffeWorkloadAPI.service;

const log = (line) => process.stderr.write(`${line}\n`);
const b64 = (s) => Buffer.from(s ?? '', 'base64');
const status = (code, details) => ({ code, details, metadata: new grpc.Metadata() });

let callCount = 0;
const perMethod = new Map();

// Runs the checks every call goes through, in SPIRE's order: the security header first,
// then the scenario's injected failures. Returns an error to send, or null.
function admit(method, call) {
  const n = ++callCount;
  const m = (perMethod.get(method) ?? 0) + 1;
  perMethod.set(method, m);
  const values = call.metadata.get('workload.spiffe.io').map(String);
  log(`CALL ${method} n=${n} header=${values.length ? values.join(',') : 'missing'}`);
  const requireHeader = scenario.require_header ?? true;
  if (requireHeader && !(values.length === 1 && values[0] === 'true')) {
    return status(grpc.status.INVALID_ARGUMENT, 'security header missing from request');
  }
  const ff = scenario.fail_first;
  if (ff && (!ff.method || ff.method === method)) {
    const index = ff.method ? m : n;
    if (index <= (ff.count ?? 0)) {
      return status(ff.code ?? grpc.status.UNAVAILABLE, ff.details ?? 'injected failure');
    }
  }
  return null;
}

// google.protobuf.Value comes from protobufjs's bundled struct.proto, whose field names
// are camelCase whatever keepCase says.
function toValue(v) {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v) };
}
function toStruct(obj) {
  const fields = {};
  for (const [k, v] of Object.entries(obj ?? {})) fields[k] = toValue(v);
  return { fields };
}

// Plays a server stream: each response after its delay, then the scenario's ending.
function playStream(method, call, spec, encode) {
  const err = admit(method, call);
  if (err) { call.emit('error', err); return; }
  if (spec?.error) { call.emit('error', status(spec.error.code, spec.error.details ?? '')); return; }
  const responses = spec?.responses ?? [];
  let timer = null;
  let done = false;
  call.on('cancelled', () => { done = true; if (timer) clearTimeout(timer); });
  const step = (i) => {
    if (done) return;
    if (i >= responses.length) {
      const end = spec?.end ?? 'hold';
      if (end === 'ok') call.end();
      else if (typeof end === 'object') call.emit('error', status(end.code, end.details ?? ''));
      return;  // "hold": keep the stream open until the client goes away
    }
    timer = setTimeout(() => {
      timer = null;
      if (done) return;
      call.write(encode(responses[i]));
      log(`SENT ${method} ${i}`);
      step(i + 1);
    }, responses[i].delay_ms ?? 0);
  };
  step(0);
}

const encodeX509Svid = (r) => ({
  svids: (r.svids ?? []).map((s) => ({
    spiffe_id: s.spiffe_id ?? '',
    x509_svid: b64(s.x509_svid),
    x509_svid_key: b64(s.x509_svid_key),
    bundle: b64(s.bundle),
    hint: s.hint ?? '',
  })),
  crl: (r.crl ?? []).map(b64),
  federated_bundles: Object.fromEntries(
    Object.entries(r.federated_bundles ?? {}).map(([k, v]) => [k, b64(v)])),
});

const server = new grpc.Server();
server.addService(service, {
  FetchX509SVID: (call) => playStream('FetchX509SVID', call, scenario.x509, encodeX509Svid),
  FetchX509Bundles: (call) => playStream('FetchX509Bundles', call, scenario.x509_bundles, (r) => ({
    crl: (r.crl ?? []).map(b64),
    bundles: Object.fromEntries(Object.entries(r.bundles ?? {}).map(([k, v]) => [k, b64(v)])),
  })),
  FetchJWTBundles: (call) => playStream('FetchJWTBundles', call, scenario.jwt_bundles, (r) => ({
    bundles: Object.fromEntries(
      Object.entries(r.bundles ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')])),
  })),
  FetchJWTSVID: (call, callback) => {
    const err = admit('FetchJWTSVID', call);
    if (err) return callback(err);
    log(`JWTSVID audience=${call.request.audience.join(',')} ` +
        `spiffe_id=${call.request.spiffe_id || '(none)'}`);
    const spec = scenario.jwt_svid ?? {};
    if (call.request.audience.length === 0) {
      return callback(status(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
    }
    if (spec.error) return callback(status(spec.error.code, spec.error.details ?? ''));
    callback(null, { svids: spec.svids ?? [] });
  },
  ValidateJWTSVID: (call, callback) => {
    const err = admit('ValidateJWTSVID', call);
    if (err) return callback(err);
    const spec = scenario.validate ?? {};
    if (!call.request.audience) {
      return callback(status(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
    }
    if (!call.request.svid || call.request.svid !== spec.svid) {
      return callback(status(grpc.status.INVALID_ARGUMENT, 'unable to parse JWT token'));
    }
    callback(null, { spiffe_id: spec.spiffe_id ?? '', claims: toStruct(spec.claims) });
  },
  FetchWITSVID: (call) => {
    const err = admit('FetchWITSVID', call);
    call.emit('error', err ?? status(grpc.status.UNIMPLEMENTED, 'WIT-SVIDs are not supported'));
  },
  FetchWITBundles: (call) => {
    const err = admit('FetchWITBundles', call);
    call.emit('error', err ?? status(grpc.status.UNIMPLEMENTED, 'WIT-SVIDs are not supported'));
  },
});

try { fs.unlinkSync(socketPath); } catch { /* not there: fine */ }
server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    log(`workload_fake_server: cannot listen on ${socketPath}: ${err.message}`);
    process.exit(1);
  }
  // grpc-js 1.14 serves as soon as bindAsync succeeds (start() is deprecated).
  process.stdout.write('READY\n');
});

const stop = () => {
  server.forceShutdown();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// A test binary killed outright (a ctest timeout, SIGKILL) cannot stop us; do not outlive it.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) stop(); }, 500).unref();
