// An independent SPIFFE Workload API client (identity-standards §4, §10.4): @grpc/grpc-js
// calling OUR proto/workload.proto, for testing Warden's server (and, against
// workload_fake_server.mjs, for testing the fake itself).
//
// Usage:
//   node workload_client.mjs <socket> <command> [args] [options]
//
// <socket>: a path (/run/x.sock), or unix:/path, unix:///path, or tcp://127.0.0.1:port.
// Commands:
//   x509                       FetchX509SVID stream; one line per message
//   x509-bundles               FetchX509Bundles stream; one line per message
//   jwt <aud...>               FetchJWTSVID (unary)
//   jwt-bundles                FetchJWTBundles stream; one line per message
//   validate <aud> <token>     ValidateJWTSVID (unary)
//   wit [spiffe-id]            FetchWITSVID stream
//   wit-bundles                FetchWITBundles stream
// Options:
//   --count N                  streams: exit 0 after N messages (default 1)
//   --timeout MS               deadline for the whole call (default 10000)
//   --spiffe-id ID             jwt: ask for this identity only
//   --no-header                omit workload.spiffe.io (W1)
//   --header-value V           send workload.spiffe.io: V instead of "true" (W2)
//   --header-twice             send workload.spiffe.io: true twice (W2)
//   --proto PATH               the .proto to load (default ../../proto/workload.proto)
//
// Output: one JSON line on stdout per message received; bytes as base64 of DER.
//   x509:         {"spiffe_id", "chain_der_b64": [leaf, ...], "key_der_b64",
//                  "bundle_der_b64", "hint",          <- svids[0], the default identity
//                  "svids": [{same fields per SVID}], "federated": {"<key>": b64},
//                  "crl_count"}
//   x509-bundles: {"bundles": {"<key>": b64}, "crl_count"}
//   jwt:          {"svids": [{"spiffe_id", "svid", "hint"}]}
//   jwt-bundles:  {"bundles": {"<key>": <the JWKS as JSON, or its text if not JSON>}}
//   validate:     {"spiffe_id", "claims": {...}}
//   wit:          {"svids": [{"spiffe_id", "wit_svid", "wit_svid_key", "hint"}]}
//   wit-bundles:  {"bundles": {"<key>": "<JWKS text>"}}
// On a gRPC error: {"error": {"code": N, "details": "..."}} and exit 1; usage errors exit 2.
// A stream the server ends before --count messages is an error with code 0.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(message) {
  process.stderr.write(`workload_client: ${message}\n` +
    'usage: node workload_client.mjs <socket> x509|x509-bundles|jwt <aud...>|jwt-bundles|' +
    'validate <aud> <token>|wit [id]|wit-bundles [--count N] [--timeout MS] ' +
    '[--spiffe-id ID] [--no-header] [--header-value V] [--header-twice] [--proto PATH]\n');
  process.exit(2);
}

const opts = {
  count: 1, timeout: 10000, spiffeId: '', header: ['true'], proto: path.resolve(here, '../../proto/workload.proto'),
};
const positional = [];
const argv = process.argv.slice(2);
const needValue = (i) => {
  if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
  return argv[i + 1];
};
for (let i = 0; i < argv.length; ++i) {
  switch (argv[i]) {
    case '--count': opts.count = Number.parseInt(needValue(i), 10); ++i; break;
    case '--timeout': opts.timeout = Number.parseInt(needValue(i), 10); ++i; break;
    case '--spiffe-id': opts.spiffeId = needValue(i); ++i; break;
    case '--no-header': opts.header = []; break;
    case '--header-value': opts.header = [needValue(i)]; ++i; break;
    case '--header-twice': opts.header = ['true', 'true']; break;
    case '--proto': opts.proto = needValue(i); ++i; break;
    default:
      if (argv[i].startsWith('--')) usage(`unknown option ${argv[i]}`);
      positional.push(argv[i]);
  }
}
if (!(opts.count >= 1) || !(opts.timeout >= 1)) usage('--count and --timeout must be positive');
if (positional.length < 2) usage('expected <socket> <command>');
const [socket, command, ...args] = positional;

function target(s) {
  if (s.startsWith('unix:')) return s;
  if (s.startsWith('tcp://')) return s.slice('tcp://'.length);
  return `unix:${path.resolve(s)}`;
}

const definition = protoLoader.loadSync(opts.proto, {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const Api = grpc.loadPackageDefinition(definition).SpiffeWorkloadAPI;
const client = new Api(target(socket), grpc.credentials.createInsecure());

function metadata() {
  const md = new grpc.Metadata();
  for (const v of opts.header) md.add('workload.spiffe.io', v);
  return md;
}
const callOptions = () => ({ deadline: new Date(Date.now() + opts.timeout) });

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
function fail(code, details) {
  print({ error: { code, details } });
  client.close();
  process.exitCode = 1;
}
const b64 = (buf) => Buffer.from(buf ?? []).toString('base64');

// Splits concatenated DER certificates (each a SEQUENCE with a definite length).
function splitDer(buf) {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    if (buf[at] !== 0x30 || at + 2 > buf.length) throw new Error(`not DER at byte ${at}`);
    let len = buf[at + 1];
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || at + 2 + n > buf.length) throw new Error(`bad DER length at byte ${at}`);
      len = 0;
      for (let k = 0; k < n; ++k) len = len * 256 + buf[at + 2 + k];
      header += n;
    }
    const end = at + header + len;
    if (end > buf.length) throw new Error(`truncated DER at byte ${at}`);
    out.push(buf.subarray(at, end));
    at = end;
  }
  return out;
}

function chainB64(buf) {
  try {
    return splitDer(Buffer.from(buf)).map(b64);
  } catch {
    return [b64(buf)];  // not splittable: show it whole, so the caller sees what came
  }
}

// google.protobuf.Value comes from protobufjs's bundled struct.proto, whose field names
// are camelCase whatever keepCase says.
function fromValue(v) {
  switch (v.kind) {
    case 'nullValue': return null;
    case 'numberValue': return v.numberValue;
    case 'stringValue': return v.stringValue;
    case 'boolValue': return v.boolValue;
    case 'structValue': return fromStruct(v.structValue);
    case 'listValue': return (v.listValue.values ?? []).map(fromValue);
    default: return null;
  }
}
function fromStruct(s) {
  const out = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = fromValue(v);
  return out;
}

const formatters = {
  x509: (r) => {
    const svids = r.svids.map((s) => ({
      spiffe_id: s.spiffe_id,
      chain_der_b64: chainB64(s.x509_svid),
      key_der_b64: b64(s.x509_svid_key),
      bundle_der_b64: b64(s.bundle),
      hint: s.hint,
    }));
    return {
      ...(svids[0] ?? {}),
      svids,
      federated: Object.fromEntries(Object.entries(r.federated_bundles).map(([k, v]) => [k, b64(v)])),
      crl_count: r.crl.length,
    };
  },
  'x509-bundles': (r) => ({
    bundles: Object.fromEntries(Object.entries(r.bundles).map(([k, v]) => [k, b64(v)])),
    crl_count: r.crl.length,
  }),
  'jwt-bundles': (r) => ({
    bundles: Object.fromEntries(Object.entries(r.bundles).map(([k, v]) => {
      const text = Buffer.from(v).toString('utf8');
      try { return [k, JSON.parse(text)]; } catch { return [k, text]; }
    })),
  }),
  wit: (r) => ({ svids: r.svids }),
  'wit-bundles': (r) => ({ bundles: r.bundles }),
};

function stream(method, request, format) {
  const call = client[method](request, metadata(), callOptions());
  let received = 0;
  let finished = false;
  call.on('data', (response) => {
    if (finished) return;
    print(format(response));
    if (++received >= opts.count) {
      finished = true;
      call.cancel();
      client.close();
    }
  });
  call.on('error', (err) => {
    if (finished) return;  // our own cancel after --count messages
    finished = true;
    fail(err.code, err.details);
  });
  call.on('end', () => {
    if (finished) return;
    finished = true;
    fail(0, `stream ended after ${received} of ${opts.count} messages`);
  });
}

function unary(method, request, format) {
  client[method](request, metadata(), callOptions(), (err, response) => {
    if (err) return fail(err.code, err.details);
    print(format(response));
    client.close();
  });
}

switch (command) {
  case 'x509': stream('FetchX509SVID', {}, formatters.x509); break;
  case 'x509-bundles': stream('FetchX509Bundles', {}, formatters['x509-bundles']); break;
  case 'jwt-bundles': stream('FetchJWTBundles', {}, formatters['jwt-bundles']); break;
  case 'wit': stream('FetchWITSVID', { spiffe_id: args[0] ?? '' }, formatters.wit); break;
  case 'wit-bundles': stream('FetchWITBundles', {}, formatters['wit-bundles']); break;
  case 'jwt':
    // No audience is allowed on purpose: W7 checks that the server refuses it.
    unary('FetchJWTSVID', { audience: args, spiffe_id: opts.spiffeId }, (r) => ({
      svids: r.svids.map((s) => ({ spiffe_id: s.spiffe_id, svid: s.svid, hint: s.hint })),
    }));
    break;
  case 'validate':
    if (args.length !== 2) usage('validate needs <aud> <token>');
    unary('ValidateJWTSVID', { audience: args[0], svid: args[1] }, (r) => ({
      spiffe_id: r.spiffe_id, claims: fromStruct(r.claims),
    }));
    break;
  default:
    usage(`unknown command ${command}`);
}
