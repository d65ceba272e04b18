// The reference server of bench/run: oidc-provider (OpenID-certified; pinned
// in bench/package.json) with its default in-memory adapter, configured with
// clients equivalent to netauth's sandbox demo clients:
//
//   bench-basic  client_credentials, client_secret_basic
//   bench-jwt    client_credentials, private_key_jwt with an ES256 key
//   bench-ciba   CIBA (poll mode), client_secret_basic: the `ciba` scenario
//   bench-code   authorization code + PKCE, client_secret_basic, `openid phone`:
//                the `code-flow` scenario
//
// CIBA as netauth's sandbox subscriber +34655555555: processLoginHint maps
// `tel:+34655555555` to an account, triggerAuthenticationDevice approves at
// once (a Grant with the requested scope, then backchannelResult), so the
// first token poll right after bc-authorize gets the token. oidc-provider
// answers no slow_down to CIBA polls (it has no polling-interval check for
// this grant), so the flow is the same two requests as on netauth. One
// difference it imposes: CIBA requests must include `openid`, so it also
// signs an ID token at the token endpoint (ES256 for this client, its
// cheapest algorithm here); netauth's CAMARA request has no `openid` scope.
//
// The code flow with network-based authentication as netauth's sandbox does
// it: a request from 127.10.0.N is subscriber +346000000NN (N = 1..10). The
// interaction URL (oidc-provider sends every browser without a session
// there) is served here: it logs in the account of the socket peer's line,
// without a page, and finishes the interaction with that account's grant
// for the client (saved at its first login and reused after: remembered
// consent), so oidc-provider sends the browser back to /auth/UID, which
// redirects to the client with the code. Three redirects where netauth
// answers the authorization request with one: each server in its own way.
//
// Opaque access tokens (no resource indicators: oidc-provider's default for
// client_credentials), introspection allowed to the token's own client only
// (netauth's rule), client assertions with a unique jti (oidc-provider's
// replay detection, as netauth's jti store).
//
//   NODE_ENV=production node bench/reference/server.mjs --port PORT --out DIR
//
// writes DIR/target.json (the load generator's description of this server,
// see bench/loadgen/src/target.rs) and DIR/bench-jwt.pem, then serves on
// 127.0.0.1:PORT until SIGTERM.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    out: { type: 'string', default: 'bench/target/reference' },
  },
});
const port = Number(values.port);
const version = JSON.parse(readFileSync(new URL('../node_modules/oidc-provider/package.json', import.meta.url))).version;
const outDir = resolve(values.out);
mkdirSync(outDir, { recursive: true });
const issuer = `http://127.0.0.1:${port}`;

// The same scopes as netauth's demo clients.
const scopes = ['disburse', 'on-disburse', 'disburse/status', 'disburse/on-status', 'mapper/link', 'mapper/unlink'];
// The CIBA scenario's scopes (netauth's CAMARA purpose and API scope).
const cibaScopes = ['openid', 'dpv:FraudPreventionAndDetection', 'sim-swap'];
const cibaHint = 'tel:+34655555555';
const cibaAccount = 'sub-34655555555';
const codeScopes = ['openid', 'phone'];
const codeRedirect = 'http://127.0.0.1:9001/callback';
/** The account on a line: 127.10.0.N → +346000000NN, as netauth's sandbox. */
function lineAccount(address) {
  const m = /^(?:::ffff:)?127\.10\.0\.(\d+)$/.exec(address || '');
  const n = m ? Number(m[1]) : 0;
  return n >= 1 && n <= 10 ? `sub-346000000${String(n).padStart(2, '0')}` : undefined;
}
const phoneOf = (accountId) => `+${accountId.slice('sub-'.length)}`;
const lines = Array.from({ length: 10 }, (_, i) => `127.10.0.${i + 1}`);

// Server signing keys (ID tokens are not issued here, but the provider wants
// a key set; RS256 is its default ID token algorithm).
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const serverJwks = {
  keys: [
    { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'rs1', use: 'sig', alg: 'RS256' },
    { ...es.privateKey.export({ format: 'jwk' }), kid: 'es1', use: 'sig', alg: 'ES256' },
  ],
};

// The private_key_jwt client's key pair: public half registered, private
// half handed to the load generator as PKCS#8 PEM.
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const clientKid = 'bench-jwt-1';
const clientPem = join(outDir, 'bench-jwt.pem');
writeFileSync(clientPem, client.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });

// 256 bits, URL-safe, like netauth's generated secrets.
const basicSecret = randomBytes(32).toString('base64url');
const cibaSecret = randomBytes(32).toString('base64url');
const codeSecret = randomBytes(32).toString('base64url');

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-basic',
      client_secret: basicSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: scopes.join(' '),
    },
    {
      client_id: 'bench-jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [{ ...client.publicKey.export({ format: 'jwk' }), kid: clientKid, use: 'sig', alg: 'ES256' }] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: scopes.join(' '),
    },
    {
      client_id: 'bench-ciba',
      client_secret: cibaSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['urn:openid:params:grant-type:ciba'],
      response_types: [],
      redirect_uris: [],
      backchannel_token_delivery_mode: 'poll',
      id_token_signed_response_alg: 'ES256',
      scope: cibaScopes.join(' '),
    },
    {
      client_id: 'bench-code',
      client_secret: codeSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [codeRedirect],
      // netauth's default ID token algorithm.
      id_token_signed_response_alg: 'ES256',
      scope: codeScopes.join(' '),
    },
  ],
  jwks: serverJwks,
  scopes: [...scopes, ...cibaScopes, ...codeScopes],
  // The defaults, and the phone scope's claims (OIDC Core §5.4).
  claims: {
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
    openid: ['sub'],
    phone: ['phone_number', 'phone_number_verified'],
  },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // netauth's rule: a client may introspect only its own tokens.
      allowedPolicy: async (ctx, caller, token) => token.clientId === caller.clientId,
    },
    revocation: { enabled: true },
    ciba: {
      enabled: true,
      deliveryModes: ['poll'],
      processLoginHint: async (ctx, loginHint) => (loginHint === cibaHint ? cibaAccount : undefined),
      validateRequestContext: async () => {},
      verifyUserCode: async () => {},
      validateBindingMessage: async () => {},
      // The handset approves at once.
      triggerAuthenticationDevice: async (ctx, request, account, client) => {
        const grant = new provider.Grant({ clientId: client.clientId, accountId: account.accountId });
        grant.addOIDCScope(request.scope);
        await grant.save();
        await provider.backchannelResult(request, grant);
      },
    },
  },
  // CIBA: netauth's expires_in for the request (120 s), its token lifetime.
  ttl: { ClientCredentials: 3600, BackchannelAuthenticationRequest: 120, Grant: 3600, AccessToken: 3600, IdToken: 3600 },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  findAccount: async (ctx, id) => {
    if (id === cibaAccount) return { accountId: id, claims: async () => ({ sub: id }) };
    if (!lines.some((ip) => lineAccount(ip) === id)) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, phone_number: phoneOf(id), phone_number_verified: true }),
    };
  },
});
provider.proxy = false;
// Errors are counted by the load generator; keep the console quiet.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// Each line's grant per client: its consent, given at the first login.
const remembered = new Map();
async function rememberedGrant(accountId, clientId, scope) {
  const key = `${accountId} ${clientId}`;
  const known = remembered.get(key);
  // The in-memory adapter is an LRU: a grant it dropped is given again.
  if (known && (await provider.Grant.find(known))) return known;
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(scope);
  // The phone scope's claims, allowed in the ID token and userinfo.
  grant.addOIDCClaims(['phone_number', 'phone_number_verified']);
  const id = await grant.save();
  remembered.set(key, id);
  return id;
}

/** The interaction: the line logs in, its remembered consent applies. */
async function interaction(req, res) {
  try {
    const details = await provider.interactionDetails(req, res);
    const accountId = lineAccount(req.socket.remoteAddress);
    if (!accountId) {
      await provider.interactionFinished(req, res, {
        error: 'login_required',
        error_description: 'not on a subscriber line',
      }, { mergeWithLastSubmission: false });
      return;
    }
    const grantId = await rememberedGrant(accountId, details.params.client_id, details.params.scope);
    await provider.interactionFinished(req, res, {
      login: { accountId, amr: ['nba'] },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  } catch (err) {
    console.error('interaction', err);
    res.statusCode = 400;
    res.end('interaction failed');
  }
}

const callback = provider.callback();
const server = createServer((req, res) =>
  req.url.startsWith('/interaction/') ? interaction(req, res) : callback(req, res),
);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const target = {
    server: 'oidc-provider',
    version,
    base_url: issuer,
    issuer,
    token_path: '/token',
    introspect_path: '/token/introspection',
    // No health endpoint: the JWKS document is its cheapest 2xx answer.
    floor_path: '/jwks',
    scope: 'disburse',
    basic: { client_id: 'bench-basic', client_secret: basicSecret },
    jwt: { client_id: 'bench-jwt', private_key_file: clientPem, kid: clientKid, alg: 'ES256' },
    ciba: {
      client_id: 'bench-ciba',
      client_secret: cibaSecret,
      bc_authorize_path: '/backchannel',
      login_hint: cibaHint,
      scope: cibaScopes.join(' '),
    },
    code: {
      client_id: 'bench-code',
      client_secret: codeSecret,
      authorize_path: '/auth',
      redirect_uri: codeRedirect,
      scope: codeScopes.join(' '),
      lines,
    },
  };
  writeFileSync(join(outDir, 'target.json'), `${JSON.stringify(target, null, 2)}\n`);
  console.error(`oidc-provider ${version} (node ${process.version}) listening on ${issuer} (NODE_ENV=${process.env.NODE_ENV})`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
