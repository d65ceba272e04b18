"""The operators' own SDKs against a netauth sandbox over TLS (issue #13).

Clients we did not write, as an application developer runs them, with only
their host changed:

- Telefónica ``opengateway-sandbox-sdk`` 1.1.0: ``SimSwap.check(max_age)`` and
  ``SimSwap.retrieve_date()`` (CIBA at /apigateway/bc-authorize with
  ``login_hint=phone_number:…``, the token poll, SIM Swap 0.4.0 at
  /apigateway/sim-swap/v0), as the seed-000 demo client ``demo-ciba``
  (compatibility profile ``telefonica-sdk``);
- Vonage ``vonage-network-sim-swap`` 1.1.2: ``NetworkSimSwap.check`` and
  ``get_last_swap_date`` (CIBA at /oauth2/bc-authorize with a bare +E.164 hint
  and Vonage's scope names, one token request, SIM Swap 0.4.0 at
  /camara/sim-swap/v040), and ``vonage-network-number-verification`` 1.0.2:
  ``get_oidc_url`` followed by a browser on a subscriber's line, then
  ``verify`` (the code exchange and Number Verification 0.3.1 at
  /camara/number-verification/v031/verify), as the seed-002 demo client
  ``demo-vonage`` (application JWT, profile ``vonage-sdk``);
- and what stays refused: Telefónica's code exchange (``NumberVerification``
  with a code) sends ``redirect_uri=whatever``, ``invalid_grant`` even for a
  client with the ``telefonica-sdk`` profile.

Every SDK call goes through the SDK's own code. The host change is what
docs/operator-sdks.md ("Using the operators' SDKs") tells a developer to do:
Telefónica's ``BASE_URL`` (imported by value into ``httpclient`` and ``base``),
Vonage's ``_host`` on the API object and on its ``NetworkAuth``, and the
host of the URL ``get_oidc_url`` returns (it hard-codes Vonage's). The SDKs
speak https only: the sandbox runs with ``--tls`` and ``REQUESTS_CA_BUNDLE``
names its CA, as ``sandbox.json`` says.

The expected answers come from the subscribers' SIM histories, read through
the admin API, and from SIM swaps made here through the sandbox's API at
known times.

Starts its own ``netauth sandbox --tls`` (tests/lib/netauth_sandbox.py;
binary NETAUTH_BIN, default target/debug/netauth) on a free loopback port
with a throwaway data directory, and stops it at the end; its log is
target/interop/sdks-sandbox.log.
"""

import datetime
import hashlib
import http.server
import os
import sys
import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
from netauth_sandbox import ROOT, Sandbox  # noqa: E402

LOG = os.path.join(ROOT, "target", "interop", "sdks-sandbox.log")
TIMEOUT = 10

# Loopback phones: a socket bound to 127.10.0.N is subscriber +346000000NN's
# line (docs/sandbox.md, "The simulated network"); all approve by themselves.
TEF_LINE = 4  # Telefónica SimSwap
TEF_NEVER_SWAPPED_LINE = 3  # Telefónica retrieve_date with no swap on record
VONAGE_SWAP_LINE = 5  # Vonage NetworkSimSwap
VONAGE_NV_LINE = 6  # Vonage NetworkNumberVerification: the browser's line
OTHER_LINE = 7  # a number that is not the browser's line
MONITORED_DAYS = 90  # SIM Swap's monitored period in the sandbox (docs/camara-apis.md)


def msisdn(line):
    return f"+346000000{line:02d}"


@pytest.fixture(scope="session")
def sandbox():
    # In this process's group: when tests/interop/run's timeout signals the
    # group, the sandbox goes too.
    with Sandbox(LOG, tls=True) as sb:
        info = sb.doc
        assert info["issuer"] == sb.base and sb.base.startswith("https://127.0.0.1:")
        assert info["tls"]["ca_file"] == sb.ca_file
        # What the guide tells a developer: trust the sandbox's CA (the path
        # sandbox.json gives) in this process. requests, and so both SDKs,
        # reads it on every request.
        os.environ["REQUESTS_CA_BUNDLE"] = info["tls"]["ca_file"]
        yield info


def demo_client(info, client_id):
    for c in info["clients"]:
        if c["client_id"] == client_id:
            return c
    raise AssertionError(f"sandbox.json has no client {client_id}")


def host_of(info):
    return urlsplit(info["issuer"]).netloc


# ------------------------------------------------------------ the network


def sims(info, number):
    """The subscriber's SIM history (admin API): activation times, oldest first."""
    r = requests.get(
        f"{info['endpoints']['admin']}/subscribers/{number}",
        headers={"Authorization": f"Bearer {info['admin_token']}"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    return sorted(s["activated_at"] for s in r.json()["sims"])


def swapped_within(history, max_age_hours, now):
    """SIM Swap's answer from a history: a SIM other than the first one was
    activated within the last max_age hours."""
    return len(history) > 1 and history[-1] >= now - max_age_hours * 3600


def sim_swap(info, number, at):
    """A SIM swap on the simulated network at a given time (sandbox API)."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    r = requests.post(
        f"{info['issuer']}/sandbox/v1/subscribers/{number}/sim-swap",
        json={"at": stamp},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    assert r.json()["sim"]["activated_at"] == stamp
    return stamp


def hours_ago(hours):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return now - datetime.timedelta(hours=hours)


# ------------------------------------------------------------ Telefónica


@pytest.fixture(scope="session")
def telefonica(sandbox):
    """opengateway_sandbox_sdk pointed at the sandbox: BASE_URL is imported by
    value into httpclient and base, so each module's copy is set."""
    import opengateway_sandbox_sdk.base as tef_base
    import opengateway_sandbox_sdk.httpclient as tef_http
    import opengateway_sandbox_sdk.settings as tef_settings

    base_url = f"https://{host_of(sandbox)}/apigateway/"
    for module in (tef_settings, tef_http, tef_base):
        assert module.BASE_URL == "https://sandbox.opengateway.telefonica.com/apigateway/"
        module.BASE_URL = base_url
    c = demo_client(sandbox, "demo-ciba")
    assert c["compat_profile"] == "telefonica-sdk"
    from opengateway_sandbox_sdk import ClientCredentials

    return ClientCredentials(client_id=c["client_id"], client_secret=c["client_secret"])


def test_telefonica_sim_swap_check_and_retrieve_date(sandbox, telefonica):
    from opengateway_sandbox_sdk import SimSwap

    number = msisdn(TEF_LINE)
    before = sims(sandbox, number)
    # The constructor runs CIBA (bc-authorize, then the token poll).
    sdk = SimSwap(telefonica, phone_number=number)
    assert sdk.credentials.get_token().startswith("Bearer ")

    now = time.time()
    assert sdk.check(240) is swapped_within(before, 240, now) is False

    swap_at = hours_ago(5)
    stamp = sim_swap(sandbox, number, swap_at)
    after = sims(sandbox, number)
    assert len(after) == len(before) + 1

    now = time.time()
    # The same token (scope sim-swap) serves both operations, again.
    assert sdk.check(24) is swapped_within(after, 24, now) is True
    assert sdk.check(2) is swapped_within(after, 2, now) is False
    assert sdk.check(6) is True
    # The SDK parses latestSimChange up to its "Z" into a naive datetime.
    date = sdk.retrieve_date()
    assert date == swap_at.replace(tzinfo=None), (date, stamp)
    assert date == datetime.datetime.fromtimestamp(after[-1], datetime.timezone.utc).replace(tzinfo=None)


def test_telefonica_retrieve_date_without_a_recent_change_is_not_readable_by_the_sdk(sandbox, telefonica):
    """SIM Swap 0.4.0 leaves latestSimChange out when the last change lies
    outside the monitored period (or never happened); opengateway-sandbox-sdk
    1.1.0 reads it unconditionally. The check still answers."""
    from opengateway_sandbox_sdk import SimSwap

    number = msisdn(TEF_NEVER_SWAPPED_LINE)
    history = sims(sandbox, number)
    assert len(history) == 1 and history[0] < time.time() - MONITORED_DAYS * 86400
    sdk = SimSwap(telefonica, phone_number=number)
    # maxAge up to the monitored period (2160 hours here; 2400 is 0.4.0's
    # schema bound, and the sandbox's regulation allows less).
    assert sdk.check(MONITORED_DAYS * 24) is swapped_within(history, MONITORED_DAYS * 24, time.time()) is False
    with pytest.raises(KeyError, match="latestSimChange"):
        sdk.retrieve_date()


# ------------------------------------------------------------ Vonage


@pytest.fixture(scope="session")
def vonage_http(sandbox):
    from vonage_http_client import Auth, HttpClient

    c = demo_client(sandbox, "demo-vonage")
    assert c["compat_profile"] == "vonage-sdk"
    with open(c["private_key_file"], encoding="utf-8") as f:
        key = f.read()
    return HttpClient(Auth(application_id=c["client_id"], private_key=key))


def point_at(api, sandbox):
    """Vonage's API objects keep their host in _host, as does the
    NetworkAuth each one holds for its tokens."""
    assert api._host == "api-eu.vonage.com" and api._network_auth._host == "api-eu.vonage.com"
    api._host = host_of(sandbox)
    api._network_auth._host = host_of(sandbox)
    return api


def test_vonage_sim_swap_check_and_last_swap_date(sandbox, vonage_http):
    from vonage_network_sim_swap import NetworkSimSwap, SimSwapCheckRequest

    sdk = point_at(NetworkSimSwap(vonage_http), sandbox)
    number = msisdn(VONAGE_SWAP_LINE)
    before = sims(sandbox, number)

    # Each call is CIBA (bc-authorize, a single token request) and then
    # the API; the number "with or without a leading +".
    now = time.time()
    answer = sdk.check(SimSwapCheckRequest(phone_number=number.lstrip("+"), max_age=240))
    assert answer == {"swapped": swapped_within(before, 240, now)} == {"swapped": False}

    swap_at = hours_ago(3)
    stamp = sim_swap(sandbox, number, swap_at)
    after = sims(sandbox, number)

    now = time.time()
    # From here on vonage-http-client sends its forms labelled
    # application/json (its shared headers); the vonage-sdk profile reads them.
    answer = sdk.check(SimSwapCheckRequest(phone_number=number, max_age=24))
    assert answer == {"swapped": swapped_within(after, 24, now)} == {"swapped": True}
    answer = sdk.check(SimSwapCheckRequest(phone_number=number, max_age=1))
    assert answer == {"swapped": swapped_within(after, 1, now)} == {"swapped": False}
    # Without maxAge: 240 hours by default.
    assert sdk.check(SimSwapCheckRequest(phone_number=number)) == {"swapped": True}

    assert sdk.get_last_swap_date(number) == {"latestSimChange": stamp}
    assert sdk.get_last_swap_date(number.lstrip("+")) == {"latestSimChange": stamp}
    assert stamp == datetime.datetime.fromtimestamp(after[-1], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _LineAdapter(HTTPAdapter):
    """Every connection opened from a subscriber's line address."""

    def __init__(self, source_ip, **kwargs):
        self._source_ip = source_ip
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._source_ip, 0)
        super().init_poolmanager(*args, **kwargs)


class _Callback:
    """The client's loopback redirect URI (RFC 8252 §7.3: any port): a real
    HTTP server that records the query of each request it gets."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                received.append(self.path)
                body = b"signed in"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def uri(self, registered):
        u = urlsplit(registered)
        return urlunsplit((u.scheme, f"127.0.0.1:{self.server.server_address[1]}", u.path, "", ""))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def callback():
    cb = _Callback()
    yield cb
    cb.close()


def browse_from_line(line, url):
    """A browser on subscriber `line`'s phone: follows the redirects from the
    authorization URL to the client's redirect URI. The line authenticates
    the subscriber, and Number Verification for fraud prevention needs no
    consent (legitimate interest, docs/consent.md), so no page is shown on the way. Returns the last answer
    (the callback server's)."""
    with requests.Session() as browser:
        adapter = _LineAdapter(f"127.10.0.{line}")
        browser.mount("https://", adapter)
        browser.mount("http://", adapter)
        return browser.get(url, timeout=TIMEOUT)


def number_verification_code(sdk, sandbox, callback, line, state):
    """get_oidc_url, its host changed, followed from the subscriber's line to
    the client's redirect URI: the code and the redirect URI it was issued for."""
    from vonage_network_number_verification import CreateOidcUrl

    registered = demo_client(sandbox, "demo-vonage")["redirect_uris"][0]
    redirect_uri = callback.uri(registered)
    url = sdk.get_oidc_url(CreateOidcUrl(redirect_uri=redirect_uri, state=state, login_hint=msisdn(line)))
    u = urlsplit(url)
    assert (u.scheme, u.netloc, u.path) == ("https", "oidc.idp.vonage.com", "/oauth2/auth")
    query = dict(parse_qsl(u.query))
    assert query["client_id"] == "demo-vonage" and query["response_type"] == "code"
    assert query["scope"] == "openid dpv:FraudPreventionAndDetection#number-verification-verify-read"
    url = urlunsplit((u.scheme, host_of(sandbox), u.path, u.query, ""))

    seen = len(callback.received)
    r = browse_from_line(line, url)
    assert r.status_code == 200 and r.text == "signed in", (r.status_code, r.url, r.text[:300])
    assert len(callback.received) == seen + 1
    got = dict(parse_qsl(urlsplit(callback.received[-1]).query))
    assert got["state"] == state and got["iss"] == sandbox["issuer"], got
    return got["code"], redirect_uri


def test_vonage_number_verification_from_the_line(sandbox, vonage_http, callback):
    from vonage_network_number_verification import NetworkNumberVerification, NumberVerificationRequest

    sdk = point_at(NetworkNumberVerification(vonage_http), sandbox)
    own = msisdn(VONAGE_NV_LINE)
    other = msisdn(OTHER_LINE)
    sha = lambda n: hashlib.sha256(n.encode()).hexdigest()  # noqa: E731

    # A Number Verification token is single-use: each verify is a new
    # flow. (number, hashed?) -> the answer for the browser's line.
    cases = [
        (own, False, True),
        (other, False, False),
        (own.lstrip("+"), False, True),
        (sha(own), True, True),
        (sha(other), True, False),
    ]
    for i, (value, hashed, expected) in enumerate(cases):
        code, redirect_uri = number_verification_code(sdk, sandbox, callback, VONAGE_NV_LINE, f"nv-{i}")
        if hashed:
            req = NumberVerificationRequest(code=code, redirect_uri=redirect_uri, hashed_phone_number=value)
        else:
            req = NumberVerificationRequest(code=code, redirect_uri=redirect_uri, phone_number=value)
        answer = sdk.verify(req)
        assert answer.device_phone_number_verified is expected, (value, hashed)


def test_vonage_number_verification_code_is_spent_once(sandbox, vonage_http, callback):
    """The code from one flow gives one verification: the SDK's second
    verify with it gets the token endpoint's invalid_grant (as a 400)."""
    from vonage_http_client.errors import HttpRequestError
    from vonage_network_number_verification import NetworkNumberVerification, NumberVerificationRequest

    sdk = point_at(NetworkNumberVerification(vonage_http), sandbox)
    own = msisdn(VONAGE_NV_LINE)
    code, redirect_uri = number_verification_code(sdk, sandbox, callback, VONAGE_NV_LINE, "once")
    req = NumberVerificationRequest(code=code, redirect_uri=redirect_uri, phone_number=own)
    assert sdk.verify(req).device_phone_number_verified is True
    with pytest.raises(HttpRequestError) as err:
        sdk.verify(req)
    assert err.value.response.status_code == 400
    assert err.value.response.json()["error"] == "invalid_grant"


def test_telefonica_code_exchange_redirect_uri_whatever_stays_refused(sandbox, telefonica, callback):
    """opengateway-sandbox-sdk exchanges codes with redirect_uri=whatever:
    exact redirect URI matching holds under the telefonica-sdk profile too.
    The guide's way round it: exchange the code with the real redirect URI,
    then call the API with that token."""
    from opengateway_sandbox_sdk import ClientCredentials, NumberVerification

    registered = "http://127.0.0.1:9100/callback"
    r = requests.post(
        f"{sandbox['endpoints']['admin']}/clients",
        headers={"Authorization": f"Bearer {sandbox['admin_token']}"},
        json={
            "name": "Telefónica SDK, code flow",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"],
            "redirect_uris": [registered],
            "scopes": ["number-verification:verify"],
            "purposes": ["dpv:FraudPreventionAndDetection"],
            "compat_profile": "telefonica-sdk",
        },
        timeout=TIMEOUT,
    )
    assert r.status_code == 201, r.text
    client_id, secret = r.json()["client"]["client_id"], r.json()["client_secret"]
    line = 2
    redirect_uri = callback.uri(registered)

    def code(state):
        url = f"{sandbox['issuer']}/authorize?" + urlencode(
            {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "dpv:FraudPreventionAndDetection#number-verification-verify-read",
                "state": state,
            }
        )
        seen = len(callback.received)
        assert browse_from_line(line, url).status_code == 200
        assert len(callback.received) == seen + 1
        got = dict(parse_qsl(urlsplit(callback.received[-1]).query))
        assert got["state"] == state, got
        return got["code"]

    sdk = NumberVerification(ClientCredentials(client_id, secret), code("tef-1"))
    with pytest.raises(requests.HTTPError) as err:
        sdk.verify(msisdn(line))
    assert err.value.response.status_code == 400
    assert err.value.response.json() == {"error": "invalid_grant", "error_description": "Invalid redirect_uri"}

    # The same request with the redirect URI of the authorization request.
    r = requests.post(
        f"{sandbox['issuer']}/apigateway/token",
        data={"grant_type": "authorization_code", "code": code("tef-2"), "redirect_uri": redirect_uri},
        auth=(client_id, secret),
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    r = requests.post(
        f"{sandbox['issuer']}/apigateway/number-verification/v0/verify",
        json={"phoneNumber": msisdn(line)},
        headers={"Authorization": f"Bearer {r.json()['access_token']}"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200 and r.json() == {"devicePhoneNumberVerified": True}, r.text
