// The sandbox's browser pages, driven by a real headless Chromium.
//
// Starts `netauth sandbox` (binary from NETAUTH_BIN, default
// target/debug/netauth; this script builds nothing) on a free loopback port
// with a throwaway data directory, then, as an app developer and as the
// subscriber would:
//   1. seed 000's two curl commands (request flags verbatim, host changed)
//      for +34666666666 (policy "ask"): bc-authorize, then authorization_pending;
//   2. the handset page in Chromium: the prompt names the client and purpose,
//      Approve (a 303), the prompt is gone, the poll gives an access token;
//   3. the consent page: Revoke kills that token; a new request is denied on
//      the handset, and the poll says access_denied; a forged form changes nothing;
//   4. a `capture = refuse` consent (number verification for
//      dpv:RequestedServiceProvision): 403 access_denied, its consent URL opened
//      in the browser, Allow, and the same request succeeds.
//   5. the home page and the request inspector (issue #11): endpoints, clients,
//      subscribers with handset links; the inspector names the subscriber
//      seed 000's hint resolved to.
// Every page's security headers are checked (SECURITY.md 9-12). Screenshots of
// the home page, the inspector, the handset page (a prompt pending, and after
// Approve) and the consent page, at desktop and phone sizes, are written to
// target/screenshots/ (NETAUTH_SCREENSHOTS overrides) for a person to look at.
//
// Prints `browser: N passed, M failed` last; exits non-zero on any failure.
// The sandbox is stopped and its directory removed on every way out.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = resolve(ROOT, process.env.NETAUTH_BIN || 'target/debug/netauth');
const CHROMIUM = process.env.NETAUTH_CHROMIUM || '/usr/bin/chromium';
const OVERALL_TIMEOUT_MS = 240_000;
const ASK = '+34666666666'; // handset policy "ask"
const LOOPBACK_PHONE = '+34600000001';
const CLIENT_NAME = 'CIBA demo (seed 000)';
const FRAUD = 'dpv:FraudPreventionAndDetection';
const SHOTS = resolve(ROOT, process.env.NETAUTH_SCREENSHOTS || 'target/screenshots');
const SIZES = { desktop: { width: 1366, height: 900 }, phone: { width: 390, height: 844 } };

let passed = 0;
let failed = 0;
let sandbox = null;
let browser = null;
let dataDir = null;
let logFile = null;

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
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * curl with the given request flags, plus output-only flags (silent, status
 * on the last line, a time limit) that change nothing in the request.
 */
function curl(args) {
  const out = ['--silent', '--show-error', '--max-time', '15', '--write-out', '\n%{http_code}', ...args];
  return new Promise((res, rej) => {
    execFile('curl', out, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) return rej(new Error(`curl failed: ${err.message} ${stderr}`));
      const i = stdout.lastIndexOf('\n');
      const status = Number(stdout.slice(i + 1));
      const text = stdout.slice(0, i);
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      res({ status, text, json });
    });
  });
}

/** Seed 000's authorization request, verbatim but for the host and subscriber. */
function seedBcAuthorize(base, id, secret, loginHint, purposeFlag) {
  return curl([
    '--request', 'POST',
    '--url', `${base}/apigateway/bc-authorize`,
    '--header', 'accept: application/json',
    '--header', 'content-type: application/x-www-form-urlencoded',
    ...loginHint,
    ...purposeFlag,
    '-u', `${id}:${secret}`,
  ]);
}

/** Seed 000's access-token retrieval, verbatim but for the host. */
function seedToken(base, id, secret, authReqId) {
  return curl([
    '--request', 'POST',
    '--url', `${base}/apigateway/token`,
    '--header', 'accept: application/json',
    '--header', 'content-type: application/x-www-form-urlencoded',
    '--data', 'grant_type=urn:openid:params:grant-type:ciba',
    '--data', `auth_req_id=${authReqId}`,
    '-u', `${id}:${secret}`,
  ]);
}

const SEED_HINT = ['--data', `login_hint=tel:${ASK}`];
const SEED_PURPOSE = ['--data', 'purpose=dpv:FraudPreventionAndDetection#sim-swap'];

/** SECURITY.md 10-11 on a page response (and the HTML content type). */
function assertPageHeaders(resp, { html = true } = {}) {
  const h = resp.headers();
  if (html) assertEq(h['content-type'], 'text/html; charset=utf-8', 'Content-Type');
  assertEq(h['x-frame-options'], 'DENY', 'X-Frame-Options');
  assertEq(h['referrer-policy'], 'no-referrer', 'Referrer-Policy');
  assertEq(h['cache-control'], 'no-store', 'Cache-Control');
  assertEq(h['x-content-type-options'], 'nosniff', 'X-Content-Type-Options');
  const csp = h['content-security-policy'] || '';
  for (const d of ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"]) {
    assert(csp.includes(d), `CSP lacks ${d}: ${csp}`);
  }
  assert(!/script-src|unsafe-eval/.test(csp), `CSP allows scripts: ${csp}`);
}

async function pendingPrompts(base, msisdn) {
  const r = await curl(['--url', `${base}/sandbox/v1/handsets/${msisdn}/prompts`]);
  assertEq(r.status, 200, 'handset JSON status');
  return r.json.prompts;
}

/**
 * Clicks a submit button and returns the POST's response: the page
 * refreshes itself every 3 s, so the click may meet a reload; then it is
 * tried once more, if the form's effect is not there yet.
 */
async function submit(page, locator, stillToDo) {
  for (let attempt = 1; ; attempt++) {
    const posted = page.waitForResponse((r) => r.request().method() === 'POST', { timeout: 8_000 });
    try {
      await locator.click({ timeout: 8_000 });
      const resp = await posted;
      await page.waitForLoadState('load');
      return resp;
    } catch (e) {
      posted.catch(() => {});
      if (attempt >= 2 || !(await stillToDo())) throw e;
      log(`       (retrying the click: ${e.message.split('\n')[0]})`);
      await page.waitForLoadState('load');
    }
  }
}

/** `page.goto`, tried again when the page being left aborted it: the
 * handset page refreshes itself every 3 s while nothing waits, and a
 * refresh that starts as we leave cancels our navigation (ERR_ABORTED). */
async function gotoFrom(page, url) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await page.goto(url);
    } catch (e) {
      if (attempt >= 3 || !String(e.message).includes('ERR_ABORTED')) throw e;
    }
  }
}

/** Full-page screenshots of what `page` shows, at each size; the page is
 * left at the desktop size. */
async function shots(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    // Nothing may stick out of the card: `.screen` clips its overflow, so
    // a table wider than the card would lose its last columns unseen.
    const clipped = await page.evaluate(() =>
      [...document.querySelectorAll('.screen')]
        .filter((el) => el.scrollWidth > el.clientWidth + 1)
        .map((el) => `${el.scrollWidth}px of content in ${el.clientWidth}px`));
    assert(clipped.length === 0, `${name} at ${size}: content wider than its card (${clipped.join('; ')})`);
    const file = join(SHOTS, `${name}-${size}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`       screenshot ${file}`);
  }
  await page.setViewportSize(SIZES.desktop);
}

async function stop() {
  if (browser) {
    await browser.close().catch(() => {});
    browser = null;
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

async function main() {
  assert(existsSync(BIN), `no netauth binary at ${BIN} (build it first, or set NETAUTH_BIN)`);
  assert(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
  dataDir = mkdtempSync(join(tmpdir(), 'netauth-browser-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  log(`browser: sandbox on ${base}, data in ${dataDir}`);

  // The sandbox, with none of the caller's NETAUTH_* settings.
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
    await sleep(100); // written in one call, but let it land
    return JSON.parse(readFileSync(file, 'utf8'));
  });
  const ciba = doc.clients.find((c) => c.client_id === 'demo-ciba');
  const [id, secret] = [ciba?.client_id, ciba?.client_secret];
  await check('sandbox.json has demo-ciba with a secret', () => {
    assert(id && secret, 'demo-ciba or its secret is missing');
  });

  // ------------------------------------------------------------ seed 000
  const first = await check(`seed 000 bc-authorize for ${ASK} (policy ask) → 200 auth_req_id`, async () => {
    const r = await seedBcAuthorize(base, id, secret, SEED_HINT, SEED_PURPOSE);
    assertEq(r.status, 200, `status (${r.text})`);
    assert(typeof r.json.auth_req_id === 'string', 'auth_req_id');
    assert(Number.isInteger(r.json.interval) && r.json.interval > 0, 'interval');
    return r.json;
  });
  await check('seed 000 token poll → authorization_pending', async () => {
    const r = await seedToken(base, id, secret, first.auth_req_id);
    assertEq(r.status, 400, `status (${r.text})`);
    assertEq(r.json.error, 'authorization_pending', 'error');
  });

  // ------------------------------------------------------------ handset page
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
  const context = await browser.newContext({ viewport: SIZES.desktop });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const handsetUrl = `${base}/sandbox/handset/${ASK}`;

  const [prompt] = await pendingPrompts(base, ASK);
  const promptCard = () => page.locator(`[id="prompt-${prompt.id}"]`);
  await check('handset page: 200 with the security headers, no script, no reload while a prompt waits', async () => {
    const resp = await gotoFrom(page, handsetUrl);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    assertEq(await page.locator('script').count(), 0, 'script elements');
    assertEq(await page.locator('meta[http-equiv="refresh"]').count(), 0, 'refresh while a prompt waits');
    assertEq(await page.locator('select, input:not([type="hidden"]), textarea').count(), 0, 'inputs a reload could lose');
    const cookie = (await context.cookies()).find((c) => c.name === 'netauth_handset');
    assert(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', 'HttpOnly SameSite=Strict session cookie');
  });
  await check('handset page shows who asks, for which purpose, which data', async () => {
    const card = promptCard();
    await card.waitFor();
    const text = await card.innerText();
    assert(text.includes(CLIENT_NAME), `client name missing in: ${text}`);
    assert(text.includes(FRAUD), `purpose missing in: ${text}`);
    assert(text.includes('sim-swap'), `scope missing in: ${text}`);
    assert(text.includes('know whether and when your SIM card changed'), `scope in words missing in: ${text}`);
    assert(text.includes('Fraud prevention and detection'), `purpose in words missing in: ${text}`);
    await shots(page, 'handset-pending');
  });
  await check('Approve → 303 back to the page, which no longer lists the prompt', async () => {
    const resp = await submit(
      page,
      promptCard().getByRole('button', { name: 'Approve' }),
      async () => (await pendingPrompts(base, ASK)).some((p) => p.id === prompt.id),
    );
    assertEq(resp.status(), 303, 'POST status');
    assertPageHeaders(resp, { html: false });
    assertEq(new URL(page.url()).pathname, `/sandbox/handset/${ASK}`, 'page after the redirect');
    assertEq(await promptCard().count(), 0, 'prompt cards with this id');
    const body = await page.locator('body').innerText();
    assert(body.includes('No pending requests'), 'empty state');
    assert(body.includes('Approved.'), `no confirmation after Approve: ${body}`);
    assertEq(await page.locator('meta[http-equiv="refresh"]').getAttribute('content'), '3', 'refresh once nothing waits');
    await shots(page, 'handset-approved');
  });
  const token = await check('after `interval` s, the seed 000 poll → 200 access_token', async () => {
    await sleep(first.interval * 1000);
    const r = await seedToken(base, id, secret, first.auth_req_id);
    assertEq(r.status, 200, `status (${r.text})`);
    assert(typeof r.json.access_token === 'string' && r.json.access_token.length > 20, 'access_token');
    assertEq(r.json.token_type, 'Bearer', 'token_type');
    return r.json.access_token;
  });
  await check('the access token works at the sandbox echo', async () => {
    const r = await curl(['--url', `${base}/sandbox/echo`, '--header', `authorization: Bearer ${token}`]);
    assertEq(r.status, 200, `status (${r.text})`);
  });

  // ------------------------------------------------------------ consents: revoke
  const consentsUrl = `${base}/sandbox/handset/${ASK}/consents`;
  await check('consent page lists the approved consent, with the security headers', async () => {
    const resp = await gotoFrom(page, consentsUrl);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    const card = page.locator('article.consent', { hasText: 'sim-swap' });
    const text = await card.innerText();
    assert(text.includes(CLIENT_NAME) && text.includes(FRAUD), `consent card: ${text}`);
    assert(/granted/i.test(text), `not granted: ${text}`);
  });
  await check('Revoke → 303; the consent shows revoked and the token is dead', async () => {
    const card = page.locator('article.consent', { hasText: 'sim-swap' });
    const resp = await submit(page, card.getByRole('button', { name: 'Revoke' }), async () => false);
    assertEq(resp.status(), 303, 'POST status');
    assert(/revoked/i.test(await card.innerText()), 'badge');
    const r = await curl(['--url', `${base}/sandbox/echo`, '--header', `authorization: Bearer ${token}`]);
    assertEq(r.status, 401, `echo after revocation (${r.text})`);
  });

  // ------------------------------------------------------------ deny
  const second = await check('the same seed 000 request again → a new prompt', async () => {
    const r = await seedBcAuthorize(base, id, secret, SEED_HINT, SEED_PURPOSE);
    assertEq(r.status, 200, `status (${r.text})`);
    return r.json;
  });
  const [prompt2] = await pendingPrompts(base, ASK);
  await check('a forged or cross-site POST → 403 HTML, and the prompt stays pending', async () => {
    const url = `${handsetUrl}/prompts/${prompt2.id}`;
    const forms = [
      ['--data', 'decision=approve'],
      ['--data', 'decision=approve&csrf=1.abc.def', '--cookie', 'netauth_handset=abcdefghijklmnopqrstuv'],
    ];
    for (const f of forms) {
      const r = await curl(['--request', 'POST', '--url', url, ...f]);
      assertEq(r.status, 403, `forged POST status (${f.join(' ')})`);
      assert(/<html/i.test(r.text), 'an HTML page');
    }
    const card = page.locator(`[id="prompt-${prompt2.id}"]`);
    await gotoFrom(page, handsetUrl);
    const csrf = await card.locator('input[name="csrf"]').getAttribute('value');
    const cookie = (await context.cookies()).find((c) => c.name === 'netauth_handset');
    const cross = await curl([
      '--request', 'POST', '--url', url,
      '--header', 'sec-fetch-site: cross-site',
      '--cookie', `netauth_handset=${cookie.value}`,
      '--data-urlencode', 'decision=approve',
      '--data-urlencode', `csrf=${csrf}`,
    ]);
    assertEq(cross.status, 403, 'cross-site POST status');
    const another = await curl([
      '--request', 'POST', '--url', `${handsetUrl}/policy`,
      '--cookie', `netauth_handset=${cookie.value}`,
      '--data-urlencode', 'policy=auto_approve',
      '--data-urlencode', `csrf=${csrf}`,
    ]);
    assertEq(another.status, 403, "a prompt's token used for the policy form");
    const still = await pendingPrompts(base, ASK);
    assert(still.some((p) => p.id === prompt2.id), 'the prompt was answered by a forged POST');
  });
  await check('Deny → 303, then the seed 000 poll → access_denied', async () => {
    await gotoFrom(page, handsetUrl);
    const card = page.locator(`[id="prompt-${prompt2.id}"]`);
    const resp = await submit(
      page,
      card.getByRole('button', { name: 'Deny' }),
      async () => (await pendingPrompts(base, ASK)).some((p) => p.id === prompt2.id),
    );
    assertEq(resp.status(), 303, 'POST status');
    assertEq(await card.count(), 0, 'prompt cards with this id');
    assert((await page.locator('body').innerText()).includes('Denied.'), 'no confirmation after Deny');
    const r = await seedToken(base, id, secret, second.auth_req_id);
    assertEq(r.json?.error, 'access_denied', `error (${r.status} ${r.text})`);
  });

  // ------------------------------------------------------------ errors
  await check('unknown number → 404 HTML page; malformed number → 400 HTML page', async () => {
    const r404 = await gotoFrom(page, `${base}/sandbox/handset/+34612345678`);
    assertEq(r404.status(), 404, 'unknown number');
    assertPageHeaders(r404);
    const text = await page.locator('body').innerText();
    assert(text.includes(ASK) && text.includes('+34655555555'), `the error page lists no valid numbers: ${text}`);
    assertEq(await page.locator('nav a[href="/"]').count(), 1, 'a link to the home page');
    const r400 = await gotoFrom(page, `${base}/sandbox/handset/12345`);
    assertEq(r400.status(), 400, 'malformed number');
    assertPageHeaders(r400);
  });

  // ------------------------------------------------------------ consent page flow
  const refuseHint = ['--data-urlencode', `login_hint=tel:${LOOPBACK_PHONE}`];
  const refuseScope = ['--data', 'scope=dpv:RequestedServiceProvision number-verification:verify'];
  const consentLink = await check(
    `number verification for dpv:RequestedServiceProvision (${LOOPBACK_PHONE}) → 403 access_denied with a consent URL`,
    async () => {
      const r = await seedBcAuthorize(base, id, secret, refuseHint, refuseScope);
      assertEq(r.status, 403, `status (${r.text})`);
      assertEq(r.json.error, 'access_denied', 'error');
      const m = /(https?:\/\/\S+\/consents\S*)/.exec(r.json.error_description || '');
      assert(m, `no consent URL in: ${r.json.error_description}`);
      return m[1].replace(/[.,;)]+$/, '');
    },
  );
  let consentUrl = consentLink;
  if (!new URL(consentUrl).searchParams.has('client_id')) {
    // The error names no request: ask the page for this one.
    const q = new URLSearchParams({
      client_id: id,
      scope: 'number-verification:verify',
      purpose: 'dpv:RequestedServiceProvision',
    });
    consentUrl += `?${q}`;
    log(`       (the consent URL names no request; opening ${consentUrl})`);
  }
  await check('the consent page asks "Allow … to use … for …?"', async () => {
    const resp = await gotoFrom(page, consentUrl);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    const text = await page.locator('.ask').innerText();
    assert(text.includes(`Allow ${CLIENT_NAME} to use`), `question: ${text}`);
    assert(text.includes('number-verification:verify'), `scope: ${text}`);
    assert(text.includes('confirm that this phone uses your number'), `scope in words: ${text}`);
    assert(text.includes('dpv:RequestedServiceProvision'), `purpose: ${text}`);
    await shots(page, 'consent');
  });
  await check('Allow → 303; the consent is listed as granted', async () => {
    const resp = await submit(page, page.getByRole('button', { name: 'Allow', exact: true }), async () => false);
    assertEq(resp.status(), 303, 'POST status');
    const card = page.locator('article.consent', { hasText: 'number-verification:verify' });
    assert(/granted/i.test(await card.innerText()), 'granted badge');
    assertEq(await page.locator('.ask').count(), 0, 'the question is gone');
  });
  await check('the same request again → 200, and its poll → access_token', async () => {
    const r = await seedBcAuthorize(base, id, secret, refuseHint, refuseScope);
    assertEq(r.status, 200, `status (${r.text})`);
    const t = await seedToken(base, id, secret, r.json.auth_req_id);
    assertEq(t.status, 200, `poll status (${t.text})`);
    assert(typeof t.json.access_token === 'string', 'access_token');
  });

  // ------------------------------------------------------------ home page and inspector
  await check('home page: endpoints, demo clients, subscribers with handset links', async () => {
    const resp = await gotoFrom(page, `${base}/`);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    const text = await page.locator('body').innerText();
    for (const want of [`${base}/token`, `${base}/apigateway/bc-authorize`, 'demo-ciba', 'demo-g2p', ASK, 'Request inspector']) {
      assert(text.includes(want), `home page lacks ${want}`);
    }
    assertEq(await page.locator(`a[href="/sandbox/handset/${ASK}"]`).count() > 0, true, 'handset link');
    assert(!text.includes(secret), 'a secret shown before a click');
    const row = page.locator('tr', { hasText: 'demo-ciba' }).first();
    await row.locator('summary').click();
    assert((await row.innerText()).includes(secret), 'the secret is not shown on a click');
    await gotoFrom(page, `${base}/`);
    await shots(page, 'home');
  });
  await check('request inspector: seed 000 requests with outcome, reason and subscriber; filter by client', async () => {
    // One refusal to explain: a wrong secret.
    await seedBcAuthorize(base, id, 'not-the-secret', SEED_HINT, SEED_PURPOSE);
    const resp = await gotoFrom(page, `${base}/sandbox/requests?client_id=demo-ciba`);
    assertEq(resp.status(), 200, 'status');
    assertPageHeaders(resp);
    const text = await page.locator('table').innerText();
    assert(text.includes('invalid_client') && text.includes('client authentication failed'), `no refusal: ${text}`);
    assert(text.includes('authorization_pending'), `no pending poll: ${text}`);
    assert(text.includes(ASK) && text.includes('tel hint'), `no resolved subscriber: ${text}`);
    await shots(page, 'inspector');
  });
}

let exitCode = 0;
const watchdog = setTimeout(async () => {
  log(`  FAIL the run did not finish within ${OVERALL_TIMEOUT_MS / 1000} s`);
  failed++;
  await stop().catch(() => {});
  log(`browser: ${passed} passed, ${failed} failed`);
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
log(`browser: ${passed} passed, ${failed} failed`);
process.exit(exitCode);
