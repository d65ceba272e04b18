// openid-client (panva, v6) against a running netauth sandbox.
//
// A client we did not write: every request below is built, authenticated and
// checked by openid-client itself (discovery, client authentication, token
// response and ID token validation, CIBA polling, the authorization code
// flow with PKCE, userinfo). Our code only reads the
// sandbox's demo credentials and plays the subscriber's handset through the
// sandbox JSON API.
//
// Needs a sandbox already running (tests/interop/run starts one):
//   NETAUTH_INTEROP_BASE_URL      e.g. http://127.0.0.1:PORT (the issuer)
//   NETAUTH_INTEROP_SANDBOX_JSON  path to the sandbox's sandbox.json
//
// The sandbox listens on plain http on loopback, so every Configuration gets
// openid-client's `allowInsecureRequests` (it refuses http:// otherwise).

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import * as oidc from 'openid-client';

const BASE = process.env.NETAUTH_INTEROP_BASE_URL;
const SANDBOX_JSON = process.env.NETAUTH_INTEROP_SANDBOX_JSON;
if (!BASE || !SANDBOX_JSON) {
  throw new Error('set NETAUTH_INTEROP_BASE_URL and NETAUTH_INTEROP_SANDBOX_JSON (tests/interop/run does)');
}
const sandbox = JSON.parse(readFileSync(SANDBOX_JSON, 'utf8'));

const AUTO = '+34655555555'; // handset policy auto_approve
const ASK = '+34666666666'; // handset policy ask
const FRAUD = 'dpv:FraudPreventionAndDetection';
const CIBA_SCOPE = `openid ${FRAUD} sim-swap`;
const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

function demoClient(id) {
  const c = sandbox.clients.find((c) => c.client_id === id);
  assert.ok(c, `sandbox.json has no client ${id}`);
  return c;
}

/** A PKCS#8 PEM file as a non-extractable WebCrypto signing key (no jose). */
async function importPkcs8(path, alg) {
  const pem = readFileSync(path, 'utf8');
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(b64, 'base64');
  const algorithms = {
    ES256: { name: 'ECDSA', namedCurve: 'P-256' },
    ES384: { name: 'ECDSA', namedCurve: 'P-384' },
    RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
    EdDSA: { name: 'Ed25519' },
  };
  assert.ok(algorithms[alg], `no WebCrypto mapping for ${alg}`);
  return webcrypto.subtle.importKey('pkcs8', der, algorithms[alg], false, ['sign']);
}

/** Discovery for one demo client, with its own token endpoint auth method. */
async function configFor(id) {
  const c = demoClient(id);
  let auth;
  switch (c.token_endpoint_auth_method) {
    case 'client_secret_basic':
      auth = oidc.ClientSecretBasic(c.client_secret);
      break;
    case 'client_secret_post':
      auth = oidc.ClientSecretPost(c.client_secret);
      break;
    case 'private_key_jwt': {
      const key = await importPkcs8(c.private_key_file, c.alg);
      auth = oidc.PrivateKeyJwt({ key, kid: c.kid });
      break;
    }
    default:
      throw new Error(`unexpected auth method ${c.token_endpoint_auth_method}`);
  }
  const metadata = { token_endpoint_auth_method: c.token_endpoint_auth_method };
  return oidc.discovery(new URL(BASE), c.client_id, metadata, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

/** GET /sandbox/echo through openid-client's protected-resource helper. */
// A 401 carrying `WWW-Authenticate: Bearer error="invalid_token"` is thrown by
// openid-client as a WWWAuthenticateChallengeError (RFC 6750 §3); it is
// returned here as { status, challenge, body }.
async function echo(config, accessToken) {
  try {
    const res = await oidc.fetchProtectedResource(config, accessToken, new URL('/sandbox/echo', BASE), 'GET');
    return { status: res.status, body: await res.json() };
  } catch (e) {
    if (!(e instanceof oidc.WWWAuthenticateChallengeError)) throw e;
    return { status: e.status, challenge: e.cause[0], body: await e.response.json() };
  }
}

async function echoRejected(config, accessToken) {
  const { status, challenge, body } = await echo(config, accessToken);
  assert.equal(status, 401);
  assert.equal(challenge?.scheme, 'bearer');
  assert.equal(challenge.parameters.error, 'invalid_token');
  assert.equal(body.code, 'UNAUTHENTICATED'); // CAMARA error body
}

async function expectOAuthError(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof oidc.ResponseBodyError, `expected ResponseBodyError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.error, code);
    return true;
  });
}

const sha256b64url = async (s) =>
  Buffer.from(await webcrypto.subtle.digest('SHA-256', new TextEncoder().encode(s))).toString('base64url');

/** Plays the "ask" handset: waits for this request's prompt, approves it. */
async function approveOnHandset(msisdn, authReqId, signal) {
  // The sandbox names each CIBA prompt by base64url(SHA-256(auth_req_id)).
  const reference = await sha256b64url(authReqId);
  const url = new URL(`/sandbox/v1/handsets/${encodeURIComponent(msisdn)}/prompts`, BASE);
  for (let i = 0; i < 60 && !signal.aborted; i++) {
    const r = await fetch(url, { signal });
    assert.equal(r.status, 200, `GET ${url}`);
    const { prompts } = await r.json();
    const p = prompts.find((p) => p.reference === reference && p.status === 'pending');
    if (p) {
      assert.equal(p.client_id, 'demo-ciba');
      assert.equal(p.purpose, FRAUD);
      const a = await fetch(new URL(`${url.pathname}/${encodeURIComponent(p.id)}`, BASE), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
        signal,
      });
      assert.ok(a.ok, `approve prompt: HTTP ${a.status} ${await a.text()}`);
      return p;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(
    `no pending prompt for this auth_req_id on ${msisdn} (a fresh sandbox is needed: an approved consent is remembered)`,
  );
}

/** What openid-client validated in the ID token, checked once more here. */
function checkIdToken(config, tokens) {
  assert.ok(tokens.id_token, 'CIBA with scope openid returns an id_token');
  const claims = tokens.claims(); // undefined unless openid-client validated it
  assert.ok(claims, 'openid-client exposes validated ID token claims');
  assert.equal(claims.iss, BASE);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  assert.ok(aud.includes(config.clientMetadata().client_id), `aud ${JSON.stringify(claims.aud)}`);
  assert.equal(typeof claims.sub, 'string');
  assert.ok(claims.sub.length > 0);
  const digits = (s) => s.replace(/\D/g, '');
  for (const msisdn of [AUTO, ASK]) {
    assert.ok(!claims.sub.includes(msisdn) && !digits(claims.sub).includes(digits(msisdn)), `sub ${claims.sub} exposes ${msisdn}`);
    assert.ok(!JSON.stringify(claims).includes(digits(msisdn)), `ID token exposes ${msisdn}`);
  }
  assert.ok(claims.exp > claims.iat);
  return claims;
}

describe('openid-client against the netauth sandbox', { timeout: 180_000 }, () => {
  let basic, post, pkjwt, ciba, cibaJwt;
  const cibaRequests = [];

  before(async () => {
    basic = await configFor('demo-basic');
    post = await configFor('demo-g2p');
    pkjwt = await configFor('demo-private-key-jwt');
    ciba = await configFor('demo-ciba');
    cibaJwt = await configFor('demo-ciba-jwt');
    // Also verify ID token signatures against /jwks (openid-client skips the
    // JWS check for token-endpoint responses unless asked to).
    oidc.enableNonRepudiationChecks(ciba);
    oidc.enableNonRepudiationChecks(cibaJwt);
    // Record what openid-client sends for the CIBA client.
    ciba[oidc.customFetch] = (url, options) => {
      cibaRequests.push(new URL(url).pathname);
      return fetch(url, options);
    };
  });

  test('discovery: issuer and the endpoints openid-client uses', () => {
    const md = basic.serverMetadata();
    assert.equal(md.issuer, BASE);
    assert.equal(md.issuer, sandbox.issuer);
    assert.equal(md.token_endpoint, sandbox.endpoints.token);
    assert.equal(md.introspection_endpoint, sandbox.endpoints.introspect);
    assert.equal(md.revocation_endpoint, sandbox.endpoints.revoke);
    assert.equal(md.backchannel_authentication_endpoint, sandbox.endpoints.bc_authorize);
    assert.equal(md.jwks_uri, sandbox.endpoints.jwks);
    for (const m of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) {
      assert.ok(md.token_endpoint_auth_methods_supported.includes(m), m);
    }
    assert.ok(md.grant_types_supported.includes(CIBA_GRANT));
    assert.ok(md.backchannel_token_delivery_modes_supported.includes('poll'));
    assert.ok(md.id_token_signing_alg_values_supported.includes('ES256'));
    assert.ok(md.subject_types_supported.includes('pairwise'));
  });

  for (const [id, method, cfg] of [
    ['demo-basic', 'client_secret_basic', () => basic],
    ['demo-g2p', 'client_secret_post', () => post],
    ['demo-private-key-jwt', 'private_key_jwt', () => pkjwt],
  ]) {
    test(`client_credentials with ${method} (${id}), token used at /sandbox/echo`, async () => {
      const config = cfg();
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'disburse' });
      assert.equal(tokens.token_type, 'bearer'); // openid-client lower-cases it
      assert.equal(typeof tokens.access_token, 'string');
      assert.equal(tokens.scope, 'disburse');
      assert.ok(tokens.expiresIn() > 0);
      assert.equal(tokens.refresh_token, undefined);
      const { status, body } = await echo(config, tokens.access_token);
      assert.equal(status, 200);
      assert.equal(body.client_id, id);
      assert.equal(body.scope, 'disburse');
      assert.equal(body.three_legged, false);
    });
  }

  test('client_credentials: a scope the client may not have is invalid_scope', async () => {
    await expectOAuthError(oidc.clientCredentialsGrant(basic, { scope: 'sim-swap' }), 'invalid_scope');
  });

  test('client_credentials: a wrong secret is invalid_client', async () => {
    const c = demoClient('demo-basic');
    const wrong = await oidc.discovery(new URL(BASE), c.client_id, undefined, oidc.ClientSecretBasic('not-the-secret'), {
      execute: [oidc.allowInsecureRequests],
    });
    // RFC 6749 §5.2: a 401 with a WWW-Authenticate challenge for the scheme
    // the client used; openid-client surfaces it as a challenge error.
    const e = await oidc.clientCredentialsGrant(wrong, { scope: 'disburse' }).then(
      () => assert.fail('a wrong secret got a token'),
      (e) => e,
    );
    assert.ok(e instanceof oidc.WWWAuthenticateChallengeError, `${e.name}: ${e.message}`);
    assert.equal(e.status, 401);
    assert.equal(e.cause[0].scheme, 'basic');
    assert.equal((await e.response.json()).error, 'invalid_client');
  });

  for (const [method, cfg] of [
    ['client_secret_basic', () => basic],
    ['client_secret_post', () => post],
    ['private_key_jwt', () => pkjwt],
  ]) {
    test(`introspection and revocation with ${method}`, async () => {
      const config = cfg();
      const { client_id } = config.clientMetadata();
      const { access_token } = await oidc.clientCredentialsGrant(config, { scope: 'disburse' });

      const live = await oidc.tokenIntrospection(config, access_token);
      assert.equal(live.active, true);
      assert.equal(live.client_id, client_id);
      assert.equal(live.scope, 'disburse');
      assert.equal(live.iss, BASE);
      assert.ok(live.exp > Math.floor(Date.now() / 1000) - 60);

      const junk = await oidc.tokenIntrospection(config, 'not-a-token');
      assert.equal(junk.active, false);

      await oidc.tokenRevocation(config, access_token);
      const dead = await oidc.tokenIntrospection(config, access_token);
      assert.equal(dead.active, false);
      await echoRejected(config, access_token);

      // RFC 7009 §2.2: revoking an unknown or already revoked token is a 200.
      await oidc.tokenRevocation(config, access_token);
      await oidc.tokenRevocation(config, 'not-a-token');
    });
  }

  test("introspection: another client's token is not active for the caller", async () => {
    const { access_token } = await oidc.clientCredentialsGrant(basic, { scope: 'disburse' });
    const seen = await oidc.tokenIntrospection(post, access_token);
    assert.equal(seen.active, false);
    // and revoking it from the other client leaves it alive
    await oidc.tokenRevocation(post, access_token);
    assert.equal((await oidc.tokenIntrospection(basic, access_token)).active, true);
  });

  let autoSub;

  test(`CIBA poll for ${AUTO} (auto-approve): validated ID token, pairwise sub`, async () => {
    const req = await oidc.initiateBackchannelAuthentication(ciba, {
      scope: CIBA_SCOPE,
      login_hint: `tel:${AUTO}`,
    });
    assert.equal(typeof req.auth_req_id, 'string');
    assert.ok(req.expires_in > 0);
    const tokens = await oidc.pollBackchannelAuthenticationGrant(ciba, req, undefined, {
      signal: AbortSignal.timeout(60_000),
    });
    const claims = checkIdToken(ciba, tokens);
    autoSub = claims.sub;
    assert.ok(cibaRequests.includes('/jwks'), `ID token signature checked against /jwks: ${cibaRequests}`);
    assert.equal(tokens.refresh_token, undefined, 'no offline_access, no refresh token');
    const { status, body } = await echo(ciba, tokens.access_token);
    assert.equal(status, 200);
    assert.equal(body.client_id, 'demo-ciba');
    assert.equal(body.three_legged, true);
    assert.equal(body.purpose, FRAUD);

    const intro = await oidc.tokenIntrospection(ciba, tokens.access_token);
    assert.equal(intro.active, true);
    if (intro.sub !== undefined) assert.equal(intro.sub, claims.sub);
    assert.ok(!JSON.stringify(intro).includes('34655555555'), 'introspection exposes the MSISDN');
  });

  test('CIBA: the same subscriber gets the same sub again; private_key_jwt client too', async () => {
    const again = await oidc.pollBackchannelAuthenticationGrant(
      ciba,
      await oidc.initiateBackchannelAuthentication(ciba, { scope: CIBA_SCOPE, login_hint: `tel:${AUTO}` }),
      undefined,
      { signal: AbortSignal.timeout(60_000) },
    );
    assert.equal(checkIdToken(ciba, again).sub, autoSub);

    const jwt = await oidc.pollBackchannelAuthenticationGrant(
      cibaJwt,
      await oidc.initiateBackchannelAuthentication(cibaJwt, { scope: CIBA_SCOPE, login_hint: `tel:${AUTO}` }),
      undefined,
      { signal: AbortSignal.timeout(60_000) },
    );
    const claims = checkIdToken(cibaJwt, jwt);
    assert.equal(claims.aud, 'demo-ciba-jwt');
  });

  test(`CIBA poll for ${ASK}: approved on the handset while openid-client polls`, async () => {
    const req = await oidc.initiateBackchannelAuthentication(ciba, {
      scope: CIBA_SCOPE,
      login_hint: `tel:${ASK}`,
    });
    const signal = AbortSignal.timeout(90_000);
    const before = cibaRequests.length;
    const polling = oidc.pollBackchannelAuthenticationGrant(ciba, req, undefined, { signal });
    // Give openid-client at least one authorization_pending before approving.
    await new Promise((res) => setTimeout(res, (req.interval ?? 5) * 1000 + 500));
    const [tokens] = await Promise.all([polling, approveOnHandset(ASK, req.auth_req_id, signal)]);
    const polls = cibaRequests.slice(before).filter((p) => p === '/token').length;
    assert.ok(polls >= 2, `openid-client polled through authorization_pending (${polls} token requests)`);
    const claims = checkIdToken(ciba, tokens);
    assert.notEqual(claims.sub, autoSub, 'two subscribers, two subs');
    const { status, body } = await echo(ciba, tokens.access_token);
    assert.equal(status, 200);
    assert.equal(body.purpose, FRAUD);
  });

  test('CIBA + offline_access: refreshTokenGrant rotates, the old refresh token is then rejected', async () => {
    const req = await oidc.initiateBackchannelAuthentication(ciba, {
      scope: `${CIBA_SCOPE} offline_access`,
      login_hint: `tel:${AUTO}`,
    });
    const first = await oidc.pollBackchannelAuthenticationGrant(ciba, req, undefined, {
      signal: AbortSignal.timeout(60_000),
    });
    checkIdToken(ciba, first);
    assert.equal(typeof first.refresh_token, 'string', 'offline_access gives a refresh token');

    const second = await oidc.refreshTokenGrant(ciba, first.refresh_token);
    assert.equal(typeof second.access_token, 'string');
    assert.notEqual(second.access_token, first.access_token);
    assert.equal(typeof second.refresh_token, 'string', 'refresh tokens rotate');
    assert.notEqual(second.refresh_token, first.refresh_token);
    if (second.id_token) checkIdToken(ciba, second);
    assert.equal((await echo(ciba, second.access_token)).status, 200);

    await expectOAuthError(oidc.refreshTokenGrant(ciba, first.refresh_token), 'invalid_grant');
    // Replaying a rotated refresh token revokes its whole family (RFC 9700
    // §4.14.2; netauth's reuse grace window is 0 by default).
    await expectOAuthError(oidc.refreshTokenGrant(ciba, second.refresh_token), 'invalid_grant');
  });

  test('CIBA + offline_access: tokenRevocation of the refresh token ends the grant (RFC 7009 §2.1)', async () => {
    const tokens = await oidc.pollBackchannelAuthenticationGrant(
      ciba,
      await oidc.initiateBackchannelAuthentication(ciba, {
        scope: `${CIBA_SCOPE} offline_access`,
        login_hint: `tel:${AUTO}`,
      }),
      undefined,
      { signal: AbortSignal.timeout(60_000) },
    );
    assert.equal(typeof tokens.refresh_token, 'string');
    await oidc.tokenRevocation(ciba, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    await expectOAuthError(oidc.refreshTokenGrant(ciba, tokens.refresh_token), 'invalid_grant');
  });

  test('CIBA: an unknown subscriber and an unknown auth_req_id are OAuth errors', async () => {
    await assert.rejects(
      oidc.initiateBackchannelAuthentication(ciba, { scope: CIBA_SCOPE, login_hint: 'tel:+34699999999' }),
      (e) => {
        assert.ok(e instanceof oidc.ResponseBodyError, `${e && e.name}: ${e && e.message}`);
        assert.equal(e.error, 'unknown_user_id');
        return true;
      },
    );
    await expectOAuthError(
      oidc.pollBackchannelAuthenticationGrant(ciba, { auth_req_id: 'no-such-request', expires_in: 60, interval: 1 }, undefined, {
        signal: AbortSignal.timeout(30_000),
      }),
      'invalid_grant',
    );
  });
});

// ------------------------------------------------------------ authorization code

// Network-based authentication: in the sandbox, a request from 127.10.0.N is
// subscriber +346000000NN's phone on the mobile network. openid-client builds
// the authorization URL and redeems the callback; the "browser" in between is
// a plain HTTP client whose socket is bound to that address.
const LINE = 7;
const LINE_MSISDN = `+3460000000${LINE}`;

/** One HTTP exchange from the subscriber's line: status, headers, body. */
function fromLine(url, { method = 'GET', body, cookies }) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers = {};
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = httpRequest(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, localAddress: `127.10.0.${LINE}` },
      (res) => {
        for (const c of res.headers['set-cookie'] ?? []) {
          const [kv] = c.split(';');
          const i = kv.indexOf('=');
          cookies.set(kv.slice(0, i), kv.slice(i + 1));
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The value of a form field on one of netauth's pages. */
function field(page, name) {
  const m = page.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert.ok(m, `no field ${name} on the page: ${page.slice(0, 500)}`);
  return m[1].replaceAll('&amp;', '&');
}

/**
 * Plays the subscriber's browser from the authorization URL to the redirect
 * to the client: the line authenticates it, and it allows every scope on
 * the consent page if one is shown. Returns the callback URL.
 */
async function authorizeOnTheLine(authorizationUrl, redirectUri) {
  const cookies = new Map();
  let r = await fromLine(authorizationUrl, { cookies });
  for (let hops = 0; hops < 10; hops++) {
    if (r.location?.startsWith(redirectUri)) return new URL(r.location);
    if (r.location?.startsWith('/')) {
      r = await fromLine(new URL(r.location, BASE), { cookies });
    } else if (r.status === 200 && r.text.includes('/authorize/consent')) {
      const form = new URLSearchParams({ request: field(r.text, 'request'), csrf: field(r.text, 'csrf') });
      for (const [, scope] of r.text.matchAll(/name="(scope:[^"]+)"/g)) form.set(scope, 'on');
      form.set('decision', 'allow');
      r = await fromLine(new URL('/authorize/consent', BASE), { method: 'POST', body: form.toString(), cookies });
    } else {
      assert.fail(`unexpected answer on the way to the callback: ${r.status} ${r.location ?? ''} ${r.text.slice(0, 300)}`);
    }
  }
  assert.fail('too many redirects');
}

describe('openid-client: the authorization code flow (seed 003 demo client)', { timeout: 120_000 }, () => {
  let orange;
  const requests = [];

  before(async () => {
    orange = await configFor('demo-orange');
    oidc.enableNonRepudiationChecks(orange); // ID token signatures checked against /jwks
    orange[oidc.customFetch] = (url, options) => {
      requests.push(new URL(url).pathname);
      return fetch(url, options);
    };
  });

  test(`PKCE, line authentication of ${LINE_MSISDN}, ID token, userinfo, refresh, introspection, revocation`, async () => {
    const md = orange.serverMetadata();
    assert.equal(md.userinfo_endpoint, sandbox.endpoints.userinfo);
    assert.ok(md.code_challenge_methods_supported.includes('S256'));
    const [redirectUri] = demoClient('demo-orange').redirect_uris;
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(orange, {
      redirect_uri: redirectUri,
      scope: 'openid phone offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    assert.equal(url.origin + url.pathname, md.authorization_endpoint);

    const callback = await authorizeOnTheLine(url.href, redirectUri);
    assert.equal(callback.searchParams.get('iss'), BASE, 'RFC 9207');
    // openid-client checks state, iss, the code exchange with the verifier,
    // and the ID token (iss, aud, nonce, exp, signature).
    const tokens = await oidc.authorizationCodeGrant(orange, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    assert.ok(requests.includes('/jwks'), `ID token signature checked against /jwks: ${requests}`);
    const claims = tokens.claims();
    assert.equal(claims.nonce, nonce);
    assert.deepEqual(claims.amr, ['nba'], 'authenticated by the network');
    assert.ok(!JSON.stringify(claims).includes(LINE_MSISDN.slice(1)), 'the ID token does not carry the number');
    assert.equal(typeof tokens.refresh_token, 'string');

    // UserInfo: openid-client checks the sub against the ID token's.
    const info = await oidc.fetchUserInfo(orange, tokens.access_token, claims.sub);
    assert.deepEqual(info, { sub: claims.sub, phone_number: LINE_MSISDN, phone_number_verified: true });

    // Refresh: a new access token (and rotated refresh token) for the same subscriber.
    const refreshed = await oidc.refreshTokenGrant(orange, tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    if (refreshed.id_token) assert.equal(refreshed.claims().sub, claims.sub);
    const again = await oidc.fetchUserInfo(orange, refreshed.access_token, claims.sub);
    assert.equal(again.phone_number, LINE_MSISDN);

    const live = await oidc.tokenIntrospection(orange, refreshed.access_token);
    assert.equal(live.active, true);
    assert.equal(live.client_id, 'demo-orange');
    assert.deepEqual(live.scope.split(' ').sort(), ['openid', 'phone']);
    assert.deepEqual(live.amr, ['nba']);

    // Revoking the refresh token ends the grant: its access tokens too.
    await oidc.tokenRevocation(orange, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
    assert.equal((await oidc.tokenIntrospection(orange, refreshed.access_token)).active, false);
    await expectOAuthError(oidc.refreshTokenGrant(orange, refreshed.refresh_token), 'invalid_grant');
    const e = await oidc.fetchUserInfo(orange, refreshed.access_token, claims.sub).then(
      () => assert.fail('a revoked token still opens userinfo'),
      (e) => e,
    );
    assert.ok(e instanceof oidc.WWWAuthenticateChallengeError, `${e.name}: ${e.message}`);
    assert.equal(e.status, 401);
    assert.equal(e.cause[0].scheme, 'bearer');
    assert.equal(e.cause[0].parameters.error, 'invalid_token');
    assert.equal((await e.response.json()).code, 41); // seed 003's body
  });

  test('a code redeemed without its PKCE verifier is invalid_grant', async () => {
    const [redirectUri] = demoClient('demo-orange').redirect_uris;
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(orange, {
      redirect_uri: redirectUri,
      scope: 'openid phone',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const callback = await authorizeOnTheLine(url.href, redirectUri);
    await expectOAuthError(
      oidc.authorizationCodeGrant(orange, callback, {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: state,
      }),
      'invalid_grant',
    );
  });
});
