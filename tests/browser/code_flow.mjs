// The authorization code flow (seeds 001 and 003, issue #8) in a real
// headless Chromium, against a real sandbox.
//
// Starts `netauth sandbox` (binary from NETAUTH_BIN, default
// target/debug/netauth; this script builds nothing) on a free loopback port
// with a throwaway data directory, and a client's callback server (the
// demo-telenor client's registered loopback redirect URI, on a free port:
// for loopback redirect URIs only the port may vary, RFC 8252 §7.3). Then:
//
//   1. line authentication: a browser on subscriber 1's line asks for
//      `openid phone offline_access`; no sign-in page, the consent page;
//      Allow; the callback has code, state and iss; the code exchange gives
//      tokens whose ID token (verified against /jwks) says amr=nba, and
//      /userinfo gives the line's number; refresh token present;
//   2. consent denied, in Spanish (ui_locales=es, subscriber 2's line):
//      the page in Spanish, Denegar → error=access_denied with state and iss;
//   3. prompt=none without a session (a Wi-Fi browser) → login_required;
//   4. the handset fallback with a one-time code (Wi-Fi): the number, "send
//      me a code", the code read off the simulated handset's page, a wrong
//      code refused, the right one; consent partially granted (the phone
//      number unticked; openid and offline_access need no consent): the
//      callback's and the token's scope are what was granted, amr otp+sms,
//      no consent recorded;
//   5. prompt=none with that browser's session → a code at once; asking
//      for the number it was not given → consent_required;
//   6. ui_locales=nb (Wi-Fi): sign-in, wait and consent pages in Norwegian
//      Bokmål, the handset approves (USSD-style), Tillat → a code, amr ussd;
//   7. display=touch on a phone-sized viewport (subscriber 4's line): the
//      page fits the screen, Allow is tapped, the code is exchanged.
//
// How a browser comes from a subscriber's line: the sandbox knows
// subscriber N (+346000000NN) by the address 127.10.0.N, and a browser
// cannot choose its source address (opening http://127.10.0.N:port still
// connects from 127.0.0.1 on Linux). So each line has a small HTTP proxy
// here, standing in for the mobile network's gateway: Chromium (a browser
// context per line) sends its requests to it, and it opens its connections
// to the sandbox from 127.10.0.N. It adds no forwarding header: the sandbox
// trusts no proxy, and sees the line as the socket peer, as in production
// without a proxy. The URLs stay those of the issuer.
//
// Every page's security headers are checked; a screenshot of every page
// (ours and the client's callback) is written to target/screenshots/
// (NETAUTH_SCREENSHOTS overrides), named code-flow-*.png.
//
// Prints `browser (code flow): N passed, M failed` last; exits non-zero on
// any failure. The sandbox, proxies and callback server are stopped and the
// data directory removed on every way out.

import { spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = resolve(ROOT, process.env.NETAUTH_BIN || 'target/debug/netauth');
const CHROMIUM = process.env.NETAUTH_CHROMIUM || '/usr/bin/chromium';
const SHOTS = resolve(ROOT, process.env.NETAUTH_SCREENSHOTS || 'target/screenshots');
const OVERALL_TIMEOUT_MS = 240_000;
const DESKTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
const CLIENT_ID = 'demo-telenor';
const CLIENT_NAME = 'Line authentication demo (seed 001)';
const ASK = '+34666666666'; // a handset that asks (and shows one-time codes)
const ASK_MASKED = '+34•••••••66'; // as the sign-in pages show it
const ALL = 'openid phone offline_access';
const LINES = [1, 2, 4];

let passed = 0;
let failed = 0;
let sandbox = null;
let browser = null;
let dataDir = null;
let logFile = null;
const servers = [];

function log(...a) {
  console.log(...a);
}

/** One named check: counted, and the first failure stops the run. */
async function check(name, fn) {
  try {
    const r = await fn();
    passed++;
    log(`  ok   ${name}`);
    return r;
  } catch (e) {
    failed++;
    log(`  FAIL ${name}\n       ${(e && e.stack) || e}`);
    throw new StopRun();
  }
}
class StopRun extends Error {}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function assertEq(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Closes a simulated handset's page. That page reloads itself every few
 * seconds, and closing it in the middle of a reload once left Chromium's
 * close unanswered until the run's 240 s cap (CI, 2026-11-26). So: leave
 * the page first, and bound the wait for the close; the context it belongs
 * to is closed with the browser in any case.
 */
async function closeHandset(page) {
  await page.goto('about:blank', { timeout: 5_000 }).catch(() => {});
  await Promise.race([page.close().catch(() => {}), sleep(5_000)]);
}
const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A server listening on a free loopback port; stopped at the end. */
function listen(server) {
  servers.push(server);
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res(server.address().port));
  });
}

/**
 * The mobile network's gateway for one line: an HTTP proxy (absolute-form
 * requests, no CONNECT: everything here is plain HTTP on loopback) whose
 * connections to the origin come from `line`. Counts what it carried.
 */
async function lineProxy(line) {
  const proxy = { line, carried: 0 };
  const server = createHttpServer((req, res) => {
    let url;
    try {
      url = new URL(req.url);
    } catch {
      res.writeHead(400).end('absolute-form requests only');
      return;
    }
    if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') {
      res.writeHead(403).end('this gateway reaches 127.0.0.1 only');
      return;
    }
    proxy.carried++;
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const upstream = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: req.method,
        headers,
        localAddress: line,
        agent: false,
      },
      (r) => {
        res.writeHead(r.statusCode, r.statusMessage, r.rawHeaders);
        r.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(`gateway: ${e.message}`);
    });
    req.pipe(upstream);
  });
  server.on('connect', (req, socket) => socket.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n'));
  proxy.port = await listen(server);
  return proxy;
}

/** The client's callback: records each query and shows it on a page. */
async function callbackServer() {
  const received = [];
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const server = createHttpServer((req, res) => {
    const u = new URL(req.url, 'http://callback');
    if (u.pathname !== '/callback') {
      res.writeHead(u.pathname === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    const q = Object.fromEntries(u.searchParams);
    received.push(q);
    const rows = Object.entries(q)
      .map(([k, v]) => `<dt>${esc(k)}</dt><dd><code>${esc(v)}</code></dd>`)
      .join('');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><meta name="viewport" content="width=device-width"><title>demo app</title>
<h1>The demo app's callback</h1><dl>${rows}</dl>`);
  });
  const port = await listen(server);
  return { received, redirectUri: `http://127.0.0.1:${port}/callback` };
}

/** SECURITY.md 9-12 on one of our pages. */
function assertPageHeaders(resp) {
  const h = resp.headers();
  assertEq(h['content-type'], 'text/html; charset=utf-8', 'Content-Type');
  assertEq(h['x-frame-options'], 'DENY', 'X-Frame-Options');
  assertEq(h['referrer-policy'], 'no-referrer', 'Referrer-Policy');
  assertEq(h['cache-control'], 'no-store', 'Cache-Control');
  assertEq(h['x-content-type-options'], 'nosniff', 'X-Content-Type-Options');
  const csp = h['content-security-policy'] || '';
  for (const d of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"]) {
    assert(csp.includes(d), `CSP lacks ${d}: ${csp}`);
  }
  assert(!/script-src|unsafe-eval/.test(csp), `CSP allows scripts: ${csp}`);
}

/** A screenshot of what `page` shows, at its viewport, full page. */
async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `code-flow-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`       screenshot ${file}`);
}

async function stop() {
  if (browser) {
    await browser.close().catch(() => {});
    browser = null;
  }
  for (const s of servers.splice(0)) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(() => r()));
  }
  if (sandbox && sandbox.exitCode === null && sandbox.signalCode === null) {
    const p = sandbox;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
  sandbox = null;
  if (logFile !== null) {
    closeSync(logFile);
    logFile = null;
  }
}

function showSandboxLog() {
  try {
    const text = readFileSync(join(dataDir, 'sandbox.log'), 'utf8');
    log('--- sandbox log (last 40 lines) ---');
    log(text.split('\n').slice(-40).join('\n'));
  } catch {
    /* none */
  }
}

async function freePort() {
  const s = createHttpServer();
  const port = await new Promise((res) => s.listen(0, '127.0.0.1', () => res(s.address().port)));
  await new Promise((r) => s.close(() => r()));
  return port;
}

async function main() {
  assert(existsSync(BIN), `no netauth binary at ${BIN} (build it first, or set NETAUTH_BIN)`);
  assert(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
  dataDir = mkdtempSync(join(tmpdir(), 'netauth-browser-code-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  log(`browser (code flow): sandbox on ${base}, data in ${dataDir}`);

  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NETAUTH_')));
  env.RUST_LOG = env.RUST_LOG || 'info';
  env.NO_COLOR = '1';
  logFile = openSync(join(dataDir, 'sandbox.log'), 'w');
  sandbox = spawn(BIN, ['sandbox', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    env,
    stdio: ['ignore', logFile, logFile],
  });

  const doc = await check('sandbox starts and writes sandbox.json', async () => {
    const file = join(dataDir, 'sandbox.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(file)) {
      assert(sandbox.exitCode === null, `the sandbox exited with ${sandbox.exitCode}`);
      assert(Date.now() < deadline, 'no sandbox.json within 60 s');
      await sleep(100);
    }
    await sleep(100);
    return JSON.parse(readFileSync(file, 'utf8'));
  });
  const client = doc.clients.find((c) => c.client_id === CLIENT_ID);
  const issuer = doc.issuer;
  const [discovery, jwks] = await check(`${CLIENT_ID} in sandbox.json; discovery and /jwks`, async () => {
    assert(client && client.client_secret, `${CLIENT_ID} or its secret is missing`);
    assert(client.redirect_uris.some((u) => u.startsWith('http://127.0.0.1:')), 'a loopback redirect URI');
    const d = await (await fetch(`${base}/.well-known/openid-configuration`)).json();
    assertEq(d.issuer, issuer, 'issuer');
    assertEq(d.authorization_endpoint, `${issuer}/authorize`, 'authorization_endpoint');
    assert(d.code_challenge_methods_supported.includes('S256'), 'S256');
    assert(d.ui_locales_supported.includes('es') && d.ui_locales_supported.includes('nb'), 'ui_locales es, nb');
    const k = await (await fetch(d.jwks_uri)).json();
    assert(Array.isArray(k.keys) && k.keys.length > 0, 'keys in /jwks');
    return [d, k];
  });

  const cb = await callbackServer();
  const proxies = {};
  for (const n of LINES) proxies[n] = await lineProxy(`127.10.0.${n}`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  /** A browser on subscriber n's line, or (n = null) on Wi-Fi. */
  async function newBrowser(n, options = {}) {
    const ctx = await browser.newContext({
      viewport: DESKTOP,
      ...(n ? { proxy: { server: `http://127.0.0.1:${proxies[n].port}` } } : {}),
      ...options,
    });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    // What Chromium refuses (a CSP violation, a blocked navigation) says why here.
    page.on('console', (m) => log(`       console ${m.type()}: ${m.text()}`));
    return { ctx, page };
  }

  /** A fresh authorization request: its URL and what the client keeps. */
  function request(extra = {}) {
    const state = b64url(randomBytes(12));
    const nonce = b64url(randomBytes(12));
    const verifier = b64url(randomBytes(32));
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: cb.redirectUri,
      scope: ALL,
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
    return { url: `${base}/authorize?${params}`, state, nonce, verifier };
  }

  /** Clicks `locator` and waits for the client's callback page. */
  async function toCallback(page, action) {
    await Promise.all([page.waitForURL((u) => u.href.startsWith(cb.redirectUri), { waitUntil: 'load' }), action()]);
    return Object.fromEntries(new URL(page.url()).searchParams);
  }

  /** What a successful callback must hold. */
  function assertCode(q, req) {
    assert(!q.error, `error on the callback: ${JSON.stringify(q)}`);
    assert(typeof q.code === 'string' && q.code.length >= 22, `code: ${JSON.stringify(q)}`);
    assertEq(q.state, req.state, 'state');
    assertEq(q.iss, issuer, 'iss (RFC 9207)');
    assertEq(cb.received.at(-1), q, 'what the callback server received');
  }

  /** The code exchange (Basic, PKCE), as the client's backend does it. */
  async function exchange(code, req) {
    const basic = Buffer.from(
      `${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(client.client_secret)}`,
    ).toString('base64');
    const r = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: cb.redirectUri,
        code_verifier: req.verifier,
      }),
    });
    return { status: r.status, json: await r.json() };
  }

  /** The subscriber's number, as /userinfo tells the client (the phone scope). */
  async function userinfoNumber(accessToken) {
    const r = await fetch(`${base}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
    const j = await r.json();
    assertEq(r.status, 200, `userinfo status (${JSON.stringify(j)})`);
    assertEq(j.phone_number_verified, true, 'phone_number_verified');
    return j.phone_number;
  }

  /** The ID token's claims, its ES256 signature verified with /jwks. */
  function idToken(jwt, req) {
    const [h, p, s] = jwt.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    assertEq(header.alg, 'ES256', 'ID token alg');
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert(jwk, `no key ${header.kid} in /jwks`);
    const ok = verifySignature(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url'),
    );
    assert(ok, 'the ID token signature does not verify');
    const c = JSON.parse(Buffer.from(p, 'base64url'));
    assertEq(c.iss, issuer, 'ID token iss');
    assert(c.aud === CLIENT_ID || (Array.isArray(c.aud) && c.aud.includes(CLIENT_ID)), `aud ${c.aud}`);
    assertEq(c.nonce, req.nonce, 'ID token nonce');
    const now = Math.floor(Date.now() / 1000);
    assert(c.exp > now && c.iat <= now + 5, `exp/iat: ${c.exp}/${c.iat}`);
    return c;
  }

  /**
   * The subscriber's consents page (the sandbox's simulated phone settings)
   * lists exactly `scopes` as granted to the client.
   */
  async function consentsShow(page, msisdn, scopes, name) {
    const resp = await page.goto(`${base}/sandbox/handset/${msisdn}/consents`);
    assertEq(resp.status(), 200, 'consents page status');
    const cards = page.locator('article.consent', { hasText: CLIENT_NAME });
    const granted = [];
    for (let i = 0; i < (await cards.count()); i++) {
      const card = cards.nth(i);
      if ((await card.locator('.badge.granted').count()) > 0) granted.push(await card.locator('dd code').first().innerText());
    }
    assertEq(granted.sort(), [...scopes].sort(), `scopes granted to ${CLIENT_ID} on ${msisdn}'s consents page`);
    await shot(page, name);
  }

  // ------------------------------------------------------------ 1. line authentication, consent granted
  const line1 = await newBrowser(1);
  const r1 = request();
  await check('line 127.10.0.1: no sign-in page, the consent page names the client and the data', async () => {
    const resp = await line1.page.goto(r1.url);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    assertEq(new URL(line1.page.url()).pathname, '/authorize', 'page');
    assertEq(await line1.page.locator('h1').innerText(), 'Allow access?', 'title');
    const text = await line1.page.locator('body').innerText();
    assert(text.includes(CLIENT_NAME), `client name: ${text}`);
    assert(text.includes('Your mobile number'), `phone in words: ${text}`);
    assertEq(await line1.page.locator('input[name="msisdn"]').count(), 0, 'a number field');
    assertEq(await line1.page.locator('input[type="checkbox"][name="scope:phone"]').isChecked(), true, 'phone ticked');
    assert(proxies[1].carried > 0, 'the page did not come through line 1');
    const cookie = (await line1.ctx.cookies()).find((c) => c.name === 'netauth_session');
    assert(cookie && cookie.httpOnly && cookie.sameSite === 'Lax', 'HttpOnly SameSite=Lax session cookie');
    await shot(line1.page, '1-consent-line');
  });
  const cb1 = await check('Allow → the callback with code, state and iss', async () => {
    const q = await toCallback(line1.page, () =>
      line1.page.getByRole('button', { name: 'Allow', exact: true }).click(),
    );
    assertCode(q, r1);
    await shot(line1.page, '1-callback');
    return q;
  });
  const sub1 = await check("code exchange → tokens; ID token (verified): amr nba; userinfo: the line's number; refresh token; code single use", async () => {
    const t = await exchange(cb1.code, r1);
    assertEq(t.status, 200, `token status (${JSON.stringify(t.json)})`);
    assertEq(t.json.token_type, 'Bearer', 'token_type');
    assert(typeof t.json.access_token === 'string', 'access_token');
    assert(typeof t.json.refresh_token === 'string', 'refresh_token (offline_access granted)');
    assertEq(t.json.scope.split(' ').sort(), ALL.split(' ').sort(), 'scope');
    const c = idToken(t.json.id_token, r1);
    assertEq(c.amr, ['nba'], 'amr');
    assertEq(await userinfoNumber(t.json.access_token), '+34600000001', "userinfo: the line's number");
    const again = await exchange(cb1.code, r1);
    assertEq([again.status, again.json.error], [400, 'invalid_grant'], 'a second use of the code');
    return c.sub;
  });
  await check("the consent is recorded for the line's subscriber (+34600000001's consents page)", async () => {
    await consentsShow(line1.page, '+34600000001', ['phone'], '1-consents');
  });

  // ------------------------------------------------------------ 2. consent denied, in Spanish
  const line2 = await newBrowser(2);
  const r2 = request({ ui_locales: 'es' });
  await check('ui_locales=es on line 127.10.0.2: the consent page in Spanish', async () => {
    const resp = await line2.page.goto(r2.url);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    assertEq(await line2.page.locator('html').getAttribute('lang'), 'es', 'html lang');
    assertEq(await line2.page.locator('h1').innerText(), '¿Permitir el acceso?', 'title');
    const text = await line2.page.locator('body').innerText();
    assert(text.includes('Tu número de móvil'), `phone in Spanish: ${text}`);
    assertEq(await line2.page.getByRole('button', { name: 'Denegar', exact: true }).count(), 1, 'Denegar');
    assertEq(await line2.page.getByRole('button', { name: 'Permitir', exact: true }).count(), 1, 'Permitir');
    await shot(line2.page, '2-consent-es');
  });
  await check('Denegar → error=access_denied with state and iss, no code', async () => {
    const q = await toCallback(line2.page, () =>
      line2.page.getByRole('button', { name: 'Denegar', exact: true }).click(),
    );
    assertEq(q.error, 'access_denied', 'error');
    assertEq(q.error_description, 'consent denied', 'error_description');
    assertEq(q.state, r2.state, 'state');
    assertEq(q.iss, issuer, 'iss');
    assert(!('code' in q), 'a code with a denial');
    await shot(line2.page, '2-callback-denied');
    await consentsShow(line2.page, '+34600000002', [], '2-consents');
  });

  // ------------------------------------------------------------ 3. prompt=none, no session
  const wifi = await newBrowser(null);
  await check('prompt=none on Wi-Fi without a session → login_required, no page', async () => {
    const r = request({ prompt: 'none' });
    const resp = await wifi.page.goto(r.url);
    assertEq(resp.url().startsWith(cb.redirectUri), true, `ended at ${resp.url()}`);
    const q = Object.fromEntries(new URL(wifi.page.url()).searchParams);
    assertEq([q.error, q.state, q.iss], ['login_required', r.state, issuer], 'error, state, iss');
    await shot(wifi.page, '3-callback-login-required');
  });

  // ------------------------------------------------------------ 4. handset fallback with a one-time code, partial consent
  const r4 = request();
  await check('Wi-Fi: the sign-in page asks for the number', async () => {
    const resp = await wifi.page.goto(r4.url);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    assertEq(await wifi.page.locator('h1').innerText(), 'Sign in with your mobile number', 'title');
    assert((await wifi.page.locator('body').innerText()).includes(CLIENT_NAME), 'client name');
    await shot(wifi.page, '4-login');
  });
  await check('number + "Send me a code" → the code page', async () => {
    await wifi.page.locator('#msisdn').fill(ASK);
    await Promise.all([
      wifi.page.waitForURL((u) => u.pathname.startsWith('/authorize'), { waitUntil: 'load' }),
      wifi.page.getByRole('button', { name: 'Send me a code' }).click(),
    ]);
    assertEq(await wifi.page.locator('h1').innerText(), 'Enter the code', 'title');
    const text = await wifi.page.locator('body').innerText();
    assert(text.includes(ASK_MASKED) && !text.includes(ASK), `the number, masked: ${text}`);
    await shot(wifi.page, '4-code');
  });
  const otp = await check("the simulated handset's page shows the one-time code", async () => {
    const handset = await wifi.ctx.newPage();
    const resp = await handset.goto(`${base}/sandbox/handset/${ASK}`);
    assertEq(resp.status(), 200, 'status');
    const code = (await handset.locator('strong.code').first().innerText()).trim();
    assert(/^\d{6}$/.test(code), `a six-digit code: ${code}`);
    assert((await handset.locator('body').innerText()).includes('Type this code into the sign-in page'), 'hint');
    await shot(handset, '4-handset-code');
    await closeHandset(handset);
    return code;
  });
  await check('a wrong code is refused, with the attempts left', async () => {
    const wrong = otp === '000000' ? '111111' : '000000';
    await wifi.page.locator('#code').fill(wrong);
    const [resp] = await Promise.all([
      wifi.page.waitForResponse((r) => r.request().method() === 'POST'),
      wifi.page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    assertEq(resp.status(), 400, 'status');
    await wifi.page.waitForLoadState('load');
    const notice = await wifi.page.locator('.notice').innerText();
    assert(notice.startsWith('That code is not right. Attempts left:'), `notice: ${notice}`);
    await shot(wifi.page, '4-code-wrong');
  });
  await check('the right code → the consent page', async () => {
    await wifi.page.locator('#code').fill(otp);
    await Promise.all([
      wifi.page.waitForURL((u) => u.pathname.startsWith('/authorize'), { waitUntil: 'load' }),
      wifi.page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    assertEq(await wifi.page.locator('h1').innerText(), 'Allow access?', 'title');
    assertEq(await wifi.page.locator('input[type="checkbox"]').count(), 1, 'one box: the phone number');
    const also = await wifi.page.locator('body').innerText();
    assert(also.includes('Also part of this request (no consent needed)') && also.includes('offline_access'), also);
    await shot(wifi.page, '4-consent');
  });
  const cb4 = await check('the number unticked, Allow → the callback names the scope granted', async () => {
    await wifi.page.locator('input[name="scope:phone"]').uncheck();
    const q = await toCallback(wifi.page, () =>
      wifi.page.getByRole('button', { name: 'Allow', exact: true }).click(),
    );
    assertCode(q, r4);
    assertEq(q.scope.split(' ').sort(), ['offline_access', 'openid'], 'granted scope on the callback');
    await shot(wifi.page, '4-callback-partial');
    return q;
  });
  const sub4 = await check('code exchange: the granted scope, amr otp+sms; no consent recorded for the number typed', async () => {
    const t = await exchange(cb4.code, r4);
    assertEq(t.status, 200, `token status (${JSON.stringify(t.json)})`);
    assertEq(t.json.scope.split(' ').sort(), ['offline_access', 'openid'], 'scope');
    assert(typeof t.json.refresh_token === 'string', 'refresh_token (offline_access kept)');
    const c = idToken(t.json.id_token, r4);
    assertEq(c.amr, ['otp', 'sms'], 'amr');
    assert(c.sub !== sub1, 'the same sub as line 1');
    await consentsShow(wifi.page, ASK, [], '4-consents');
    return c.sub;
  });

  // ------------------------------------------------------------ 5. prompt=none with a session
  await check('prompt=none with the session and remembered consent → a code at once', async () => {
    const r = request({ prompt: 'none', scope: 'openid offline_access' });
    const resp = await wifi.page.goto(r.url);
    assert(resp.url().startsWith(cb.redirectUri), `ended at ${resp.url()}`);
    const q = Object.fromEntries(new URL(wifi.page.url()).searchParams);
    assertCode(q, r);
    await shot(wifi.page, '5-callback-prompt-none');
    const t = await exchange(q.code, r);
    assertEq(t.status, 200, `token status (${JSON.stringify(t.json)})`);
    const c = idToken(t.json.id_token, r);
    assertEq([c.amr, c.sub], [['otp', 'sms'], sub4], 'amr and sub of the session');
  });
  await check('prompt=none asking for the number it was not given → consent_required', async () => {
    const r = request({ prompt: 'none', scope: 'openid phone' });
    await wifi.page.goto(r.url);
    const q = Object.fromEntries(new URL(wifi.page.url()).searchParams);
    assertEq([q.error, q.state, q.iss], ['consent_required', r.state, issuer], 'error, state, iss');
    await shot(wifi.page, '5-callback-consent-required');
  });

  // ------------------------------------------------------------ 6. Norwegian Bokmål, handset approval
  const nb = await newBrowser(null);
  const r6 = request({ ui_locales: 'nb', scope: 'openid phone' });
  await check('ui_locales=nb: the sign-in page in Norwegian', async () => {
    const resp = await nb.page.goto(r6.url);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    assertEq(await nb.page.locator('html').getAttribute('lang'), 'nb', 'html lang');
    assertEq(await nb.page.locator('h1').innerText(), 'Logg inn med mobilnummeret ditt', 'title');
    assertEq(await nb.page.locator('label[for="msisdn"]').innerText(), 'Mobilnummer', 'label');
    await shot(nb.page, '6-login-nb');
  });
  await check('"Send en forespørsel til telefonen min" → the wait page in Norwegian', async () => {
    await nb.page.locator('#msisdn').fill(ASK);
    await Promise.all([
      nb.page.waitForURL((u) => u.pathname.startsWith('/authorize'), { waitUntil: 'load' }),
      nb.page.getByRole('button', { name: 'Send en forespørsel til telefonen min' }).click(),
    ]);
    assertEq(await nb.page.locator('h1').innerText(), 'Sjekk telefonen din', 'title');
    const text = await nb.page.locator('body').innerText();
    assert(text.includes(ASK_MASKED) && !text.includes(ASK), `the number, masked: ${text}`);
    await shot(nb.page, '6-wait-nb');
  });
  await check('the handset approves the sign-in', async () => {
    const prompts = (await (await fetch(`${base}/sandbox/v1/handsets/${ASK}/prompts`)).json()).prompts;
    const p = prompts.find((x) => x.kind === 'login_approve');
    assert(p, `no login_approve prompt in ${JSON.stringify(prompts)}`);
    const handset = await nb.ctx.newPage();
    await handset.goto(`${base}/sandbox/handset/${ASK}`);
    const card = handset.locator(`[id="prompt-${p.id}"]`);
    assert((await card.innerText()).includes(CLIENT_NAME), 'the client on the handset');
    await shot(handset, '6-handset-approve');
    const [resp] = await Promise.all([
      handset.waitForResponse((r) => r.request().method() === 'POST'),
      card.getByRole('button', { name: 'Approve' }).click(),
    ]);
    assertEq(resp.status(), 303, 'POST status');
    await closeHandset(handset);
  });
  await check('"Jeg har godkjent den" → the consent page in Norwegian', async () => {
    await Promise.all([
      nb.page.waitForURL((u) => u.pathname.startsWith('/authorize'), { waitUntil: 'load' }),
      nb.page.getByRole('link', { name: 'Jeg har godkjent den' }).click(),
    ]);
    assertEq(await nb.page.locator('h1').innerText(), 'Gi tilgang?', 'title');
    assert((await nb.page.locator('body').innerText()).includes('Mobilnummeret ditt'), 'phone in Norwegian');
    assertEq(await nb.page.getByRole('button', { name: 'Tillat', exact: true }).count(), 1, 'Tillat');
    await shot(nb.page, '6-consent-nb');
  });
  await check('Tillat → a code; amr ussd', async () => {
    const q = await toCallback(nb.page, () => nb.page.getByRole('button', { name: 'Tillat', exact: true }).click());
    assertCode(q, r6);
    await shot(nb.page, '6-callback');
    const t = await exchange(q.code, r6);
    assertEq(t.status, 200, `token status (${JSON.stringify(t.json)})`);
    assertEq(idToken(t.json.id_token, r6).amr, ['ussd'], 'amr');
  });

  // ------------------------------------------------------------ 7. display=touch on a phone
  const phone = await newBrowser(4, { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const r7 = request({ display: 'touch' });
  await check('display=touch on a 390×844 phone (line 127.10.0.4): the page fits the screen', async () => {
    const resp = await phone.page.goto(r7.url);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    assertEq(await phone.page.locator('body').getAttribute('class'), 'display-touch', 'body class');
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= PHONE.width, `the page scrolls sideways: ${width} px wide`);
    const allow = phone.page.getByRole('button', { name: 'Allow', exact: true });
    const box = await allow.boundingBox();
    assert(box && box.x >= 0 && box.x + box.width <= PHONE.width, `Allow off screen: ${JSON.stringify(box)}`);
    assert(box.height >= 32, `Allow too small to tap: ${box.height} px`);
    await shot(phone.page, '7-consent-touch');
  });
  await check("tap Allow → a code; exchanged; consent recorded for line 4's subscriber", async () => {
    const q = await toCallback(phone.page, () =>
      phone.page.getByRole('button', { name: 'Allow', exact: true }).tap(),
    );
    assertCode(q, r7);
    await shot(phone.page, '7-callback');
    const t = await exchange(q.code, r7);
    assertEq(t.status, 200, `token status (${JSON.stringify(t.json)})`);
    const c = idToken(t.json.id_token, r7);
    assertEq(c.amr, ['nba'], 'amr');
    assertEq(await userinfoNumber(t.json.access_token), '+34600000004', "userinfo: the line's number");
    assert(c.sub !== sub1 && c.sub !== sub4, 'a sub seen before');
    assert(proxies[4].carried > 0, 'nothing came through line 4');
    await consentsShow(phone.page, '+34600000004', ['phone'], '7-consents');
  });
  assert(discovery, 'discovery');
}

let exitCode = 0;
const watchdog = setTimeout(async () => {
  log(`  FAIL the run did not finish within ${OVERALL_TIMEOUT_MS / 1000} s`);
  failed++;
  await stop().catch(() => {});
  log(`browser (code flow): ${passed} passed, ${failed} failed`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await stop().catch(() => {});
    process.exit(130);
  });
}

try {
  await main();
} catch (e) {
  if (!(e instanceof StopRun)) {
    failed++;
    log(`  FAIL ${(e && e.stack) || e}`);
  }
}
if (failed > 0 && dataDir) showSandboxLog();
await stop().catch((e) => log(`stopping: ${e}`));
clearTimeout(watchdog);
if (dataDir) rmSync(dataDir, { recursive: true, force: true });
if (failed > 0) exitCode = 1;
log(`browser (code flow): ${passed} passed, ${failed} failed`);
process.exit(exitCode);
