// The reference server of bench/run: oidc-provider (OpenID-certified; pinned
// in bench/package.json) with its default in-memory adapter, configured with
// clients equivalent to netauth's sandbox demo clients:
//
//   bench-basic  client_credentials, client_secret_basic
//   bench-jwt    client_credentials, private_key_jwt with an ES256 key
//   bench-ciba   CIBA (poll mode), client_secret_basic: the `ciba` scenario
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
  ],
  jwks: serverJwks,
  scopes: [...scopes, ...cibaScopes],
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
  findAccount: async (ctx, id) =>
    id === cibaAccount ? { accountId: id, claims: async () => ({ sub: id }) } : undefined,
});
provider.proxy = false;
// Errors are counted by the load generator; keep the console quiet.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = createServer(provider.callback());
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
  };
  writeFileSync(join(outDir, 'target.json'), `${JSON.stringify(target, null, 2)}\n`);
  console.error(`oidc-provider ${version} (node ${process.version}) listening on ${issuer} (NODE_ENV=${process.env.NODE_ENV})`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
