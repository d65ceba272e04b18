"""Authlib (requests client) against a running netauth sandbox.

A client we did not write: Authlib's OAuth2Session builds and authenticates
every token, introspection and revocation request (client_secret_basic,
client_secret_post and its PrivateKeyJWT), and its OpenID Connect claim
classes check the ID tokens. Authlib has no CIBA helper, so bc-authorize is a
plain POST authenticated by the session's own client auth, and the poll is a
loop over ``fetch_token`` with the CIBA grant type. The authorization code
flow uses ``create_authorization_url`` with PKCE (S256) and ``fetch_token``
with the callback URL; the browser in between is a socket bound to a
subscriber's line address (network-based authentication).

Needs a sandbox already running (tests/interop/run starts one):
  NETAUTH_INTEROP_BASE_URL      e.g. http://127.0.0.1:PORT (the issuer)
  NETAUTH_INTEROP_SANDBOX_JSON  path to the sandbox's sandbox.json

The sandbox listens on plain http on loopback; Authlib's requests client
accepts http for a token endpoint without any flag.
"""

import base64
import hashlib
import html
import http.client
import json
import os
import re
import time
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.common.security import generate_token
from authlib.oidc.core import CodeIDToken, UserInfo
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

BASE = os.environ.get("NETAUTH_INTEROP_BASE_URL")
SANDBOX_JSON = os.environ.get("NETAUTH_INTEROP_SANDBOX_JSON")
if not BASE or not SANDBOX_JSON:
    pytest.exit(
        "set NETAUTH_INTEROP_BASE_URL and NETAUTH_INTEROP_SANDBOX_JSON (tests/interop/run does)",
        returncode=2,
    )

with open(SANDBOX_JSON, encoding="utf-8") as f:
    SANDBOX = json.load(f)

AUTO = "+34655555555"  # handset policy auto_approve
ASK = "+34666666666"  # handset policy ask
FRAUD = "dpv:FraudPreventionAndDetection"
CIBA_SCOPE = f"openid {FRAUD} sim-swap"
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
TIMEOUT = 10


def demo_client(client_id):
    for c in SANDBOX["clients"]:
        if c["client_id"] == client_id:
            return c
    raise AssertionError(f"sandbox.json has no client {client_id}")


@pytest.fixture(scope="session")
def metadata():
    # Authlib's requests client has no discovery of its own (its web
    # framework integrations do the same GET).
    with OAuth2Session() as s:
        r = s.get(f"{BASE}/.well-known/openid-configuration", withhold_token=True, timeout=TIMEOUT)
    r.raise_for_status()
    return r.json()


def _load_private_key(c):
    with open(c["private_key_file"], "rb") as f:
        pem = f.read()
    # Authlib's PrivateKeyJWT imports a PEM string as RSA only; an EC or
    # OKP key is handed over as a joserfc key object.
    cls = {"ES": ECKey, "RS": RSAKey, "PS": RSAKey, "Ed": OKPKey}[c["alg"][:2]]
    return cls.import_key(pem, {"kid": c["kid"]})


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's PrivateKeyJWT with a 60 s assertion instead of its 3600 s
    default: the CAMARA profile (and so netauth) rejects client assertions
    whose `exp - iat` is over 300 s. Everything else is Authlib's own."""

    lifetime = 60

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            claims=self.claims,
            header=self.headers,
            alg=self.alg,
            expires_in=self.lifetime,
        )


def session_for(client_id, metadata, **kwargs):
    """An OAuth2Session authenticating as the demo client the sandbox made."""
    c = demo_client(client_id)
    method = c["token_endpoint_auth_method"]
    if method == "private_key_jwt":
        secret = _load_private_key(c)
    else:
        secret = c["client_secret"]
    s = OAuth2Session(
        client_id,
        secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        token_endpoint=metadata["token_endpoint"],
        default_timeout=TIMEOUT,
        **kwargs,
    )
    if method == "private_key_jwt":
        # Authlib's documented set-up: aud = the token endpoint URL (also for
        # introspection, revocation and bc-authorize).
        s.register_client_auth_method(
            ShortLivedPrivateKeyJWT(metadata["token_endpoint"], alg=c["alg"], headers={"kid": c["kid"]})
        )
    return s


def echo(session, access_token=None):
    """GET /sandbox/echo with a Bearer token (the session's own, or this one)."""
    if access_token is None:
        return session.get(SANDBOX["endpoints"]["echo"])
    return session.get(
        SANDBOX["endpoints"]["echo"],
        headers={"Authorization": f"Bearer {access_token}"},
        withhold_token=True,
    )


def check_id_token(session, metadata, token, nonce=None):
    """The ID token checked the way Authlib's OpenID client does it."""
    assert "id_token" in token, "CIBA with scope openid returns an id_token"
    with OAuth2Session() as s:
        r = s.get(metadata["jwks_uri"], withhold_token=True, timeout=TIMEOUT)
    r.raise_for_status()
    keys = KeySet.import_key_set(r.json())
    decoded = jwt.decode(
        token["id_token"],
        key=keys,
        registry=JWSRegistry(algorithms=metadata["id_token_signing_alg_values_supported"]),
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"essential": True, "values": [metadata["issuer"]]}},
        {"client_id": session.client_id, "access_token": token["access_token"], **({"nonce": nonce} if nonce else {})},
    )
    claims.validate(leeway=120)
    assert claims["iss"] == BASE
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert session.client_id in aud
    sub = claims["sub"]
    assert isinstance(sub, str) and sub
    for msisdn in (AUTO, ASK):
        digits = msisdn.lstrip("+")
        assert digits not in sub, f"sub {sub} exposes {msisdn}"
        assert digits not in json.dumps(dict(claims)), f"ID token exposes {msisdn}"
    return claims


# ------------------------------------------------------------ client_credentials

CC_CLIENTS = [
    ("demo-basic", "client_secret_basic"),
    ("demo-g2p", "client_secret_post"),
    ("demo-private-key-jwt", "private_key_jwt"),
]


def test_discovery(metadata):
    assert metadata["issuer"] == BASE == SANDBOX["issuer"]
    assert metadata["token_endpoint"] == SANDBOX["endpoints"]["token"]
    assert metadata["introspection_endpoint"] == SANDBOX["endpoints"]["introspect"]
    assert metadata["revocation_endpoint"] == SANDBOX["endpoints"]["revoke"]
    assert metadata["backchannel_authentication_endpoint"] == SANDBOX["endpoints"]["bc_authorize"]
    for m in ("client_secret_basic", "client_secret_post", "private_key_jwt"):
        assert m in metadata["token_endpoint_auth_methods_supported"]
    assert CIBA_GRANT in metadata["grant_types_supported"]


@pytest.mark.parametrize("client_id,method", CC_CLIENTS)
def test_client_credentials(metadata, client_id, method):
    with session_for(client_id, metadata, scope="disburse") as s:
        assert s.token_endpoint_auth_method == method
        token = s.fetch_token(grant_type="client_credentials")
        assert isinstance(token, OAuth2Token)
        assert token["token_type"].lower() == "bearer"
        assert token["scope"] == "disburse"
        assert token["expires_in"] > 0
        assert not token.is_expired()
        assert "refresh_token" not in token
        r = echo(s)  # the session puts its own token in Authorization
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["client_id"] == client_id
        assert body["scope"] == "disburse"
        assert body["three_legged"] is False


def test_client_credentials_wrong_secret(metadata):
    with OAuth2Session("demo-basic", "not-the-secret", scope="disburse") as s:
        with pytest.raises(OAuthError) as e:
            s.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert e.value.error == "invalid_client"


def test_client_credentials_unknown_scope(metadata):
    with session_for("demo-g2p", metadata, scope="sim-swap") as s:
        with pytest.raises(OAuthError) as e:
            s.fetch_token(grant_type="client_credentials")
    assert e.value.error == "invalid_scope"


@pytest.mark.parametrize("client_id,method", CC_CLIENTS)
def test_introspection_and_revocation(metadata, client_id, method):
    with session_for(client_id, metadata, scope="disburse") as s:
        token = s.fetch_token(grant_type="client_credentials")
        at = token["access_token"]

        r = s.introspect_token(metadata["introspection_endpoint"], token=at)
        assert r.status_code == 200, r.text
        live = r.json()
        assert live["active"] is True
        assert live["client_id"] == client_id
        assert live["scope"] == "disburse"
        assert live["iss"] == BASE

        r = s.introspect_token(metadata["introspection_endpoint"], token="not-a-token")
        assert r.status_code == 200 and r.json()["active"] is False

        r = s.revoke_token(metadata["revocation_endpoint"], token=at, token_type_hint="access_token")
        assert r.status_code == 200, r.text
        r = s.introspect_token(metadata["introspection_endpoint"], token=at)
        assert r.json()["active"] is False

        r = echo(s)
        assert r.status_code == 401
        challenge = r.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge

        # RFC 7009 §2.2: unknown or already revoked tokens are a 200 too.
        assert s.revoke_token(metadata["revocation_endpoint"], token=at).status_code == 200
        assert s.revoke_token(metadata["revocation_endpoint"], token="not-a-token").status_code == 200


# ------------------------------------------------------------ CIBA


def bc_authorize(session, metadata, **params):
    """POST /bc-authorize, authenticated by the session's client auth."""
    r = session.post(
        metadata["backchannel_authentication_endpoint"],
        data=params,
        auth=session.client_auth(session.token_endpoint_auth_method),
        withhold_token=True,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["auth_req_id"] and body["expires_in"] > 0
    return body


def poll(session, req, on_pending=None, deadline=60):
    """The CIBA poll loop (CIBA Core §7.3/§11) over Authlib's fetch_token."""
    interval = req.get("interval", 5)
    pending = 0
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        time.sleep(interval)
        try:
            return session.fetch_token(grant_type=CIBA_GRANT, auth_req_id=req["auth_req_id"]), pending
        except OAuthError as e:
            if e.error == "authorization_pending":
                pending += 1
                if on_pending:
                    on_pending(pending)
                continue
            if e.error == "slow_down":
                interval += 5
                continue
            raise
    raise AssertionError("CIBA poll did not finish in time")


def approve_on_handset(session, msisdn, auth_req_id):
    # The sandbox names each CIBA prompt by base64url(SHA-256(auth_req_id)).
    reference = base64.urlsafe_b64encode(hashlib.sha256(auth_req_id.encode()).digest()).rstrip(b"=").decode()
    url = f"{BASE}/sandbox/v1/handsets/{quote(msisdn)}/prompts"
    r = session.get(url, withhold_token=True)
    assert r.status_code == 200, r.text
    mine = [p for p in r.json()["prompts"] if p["reference"] == reference and p["status"] == "pending"]
    assert mine, f"no pending prompt for this auth_req_id on {msisdn} (a fresh sandbox is needed)"
    p = mine[0]
    assert p["purpose"] == FRAUD
    r = session.post(f"{url}/{quote(p['id'])}", json={"decision": "approve"}, withhold_token=True)
    assert r.ok, r.text


def test_ciba_auto_approve_with_refresh(metadata):
    with session_for("demo-ciba", metadata) as s:
        req = bc_authorize(s, metadata, scope=f"{CIBA_SCOPE} offline_access", login_hint=f"tel:{AUTO}")
        token, _ = poll(s, req)
        claims = check_id_token(s, metadata, token)

        r = echo(s)
        assert r.status_code == 200, r.text
        assert r.json()["purpose"] == FRAUD and r.json()["three_legged"] is True

        r = s.introspect_token(metadata["introspection_endpoint"], token=token["access_token"])
        live = r.json()
        assert live["active"] is True
        assert "34655555555" not in r.text
        if "sub" in live:
            assert live["sub"] == claims["sub"]

        # Rotation through Authlib's refresh_token(); the old one is then dead.
        old_rt = token["refresh_token"]
        new = s.refresh_token(metadata["token_endpoint"], refresh_token=old_rt)
        assert new["refresh_token"] != old_rt
        assert new["access_token"] != token["access_token"]
        if "id_token" in new:
            assert check_id_token(s, metadata, new)["sub"] == claims["sub"]
        assert echo(s).status_code == 200
        with pytest.raises(OAuthError) as e:
            s.refresh_token(metadata["token_endpoint"], refresh_token=old_rt)
        assert e.value.error == "invalid_grant"

        # Revoking the refresh token (RFC 7009 with a hint) ends the grant.
        fresh = bc_authorize(s, metadata, scope=f"{CIBA_SCOPE} offline_access", login_hint=f"tel:{AUTO}")
        token2, _ = poll(s, fresh)
        r = s.revoke_token(metadata["revocation_endpoint"], token=token2["refresh_token"], token_type_hint="refresh_token")
        assert r.status_code == 200, r.text
        with pytest.raises(OAuthError) as e:
            s.refresh_token(metadata["token_endpoint"], refresh_token=token2["refresh_token"])
        assert e.value.error == "invalid_grant"


def test_ciba_ask_approved_on_handset_private_key_jwt(metadata):
    # demo-ciba-jwt (private_key_jwt): its consent for +34666666666 is its own,
    # so the handset asks even after the node tests approved demo-ciba there.
    with session_for("demo-ciba-jwt", metadata) as s:
        req = bc_authorize(s, metadata, scope=CIBA_SCOPE, login_hint=f"tel:{ASK}")

        def approve_once(pending):
            if pending == 1:
                approve_on_handset(s, ASK, req["auth_req_id"])

        token, pending = poll(s, req, on_pending=approve_once)
        assert pending >= 1, "the poll saw authorization_pending before the approval"
        claims = check_id_token(s, metadata, token)
        assert claims["aud"] in ("demo-ciba-jwt", ["demo-ciba-jwt"])
        r = echo(s)
        assert r.status_code == 200, r.text
        assert r.json()["client_id"] == "demo-ciba-jwt"


def test_ciba_errors(metadata):
    with session_for("demo-ciba", metadata) as s:
        r = s.post(
            metadata["backchannel_authentication_endpoint"],
            data={"scope": CIBA_SCOPE, "login_hint": "tel:+34699999999"},
            auth=s.client_auth(s.token_endpoint_auth_method),
            withhold_token=True,
        )
        assert r.status_code == 400 and r.json()["error"] == "unknown_user_id"
        with pytest.raises(OAuthError) as e:
            s.fetch_token(grant_type=CIBA_GRANT, auth_req_id="no-such-request")
        assert e.value.error == "invalid_grant"


# ------------------------------------------------ defaults (issue #11.6)


def test_default_session_revokes_and_introspects_for_a_post_client(metadata):
    """Authlib's OAuth2Session with its default settings, told only what a
    client_secret_post client needs to get a token: revoke_token and
    introspect_token then authenticate with HTTP Basic (Authlib's default
    there), which netauth accepts from a secret-based client at those two
    endpoints whatever it registered."""
    c = demo_client("demo-g2p")
    assert c["token_endpoint_auth_method"] == "client_secret_post"
    with OAuth2Session(
        c["client_id"], c["client_secret"], token_endpoint_auth_method="client_secret_post", scope="disburse"
    ) as s:
        assert s.revocation_endpoint_auth_method == "client_secret_basic"  # Authlib's default
        at = s.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")["access_token"]
        r = s.introspect_token(metadata["introspection_endpoint"], token=at)
        assert r.status_code == 200, r.text
        assert r.json()["active"] is True and r.json()["client_id"] == "demo-g2p"
        r = s.revoke_token(metadata["revocation_endpoint"], token=at)
        assert r.status_code == 200, r.text
        r = s.introspect_token(metadata["introspection_endpoint"], token=at)
        assert r.status_code == 200 and r.json()["active"] is False


# ------------------------------------------------------------ authorization code

# Network-based authentication: in the sandbox a request from 127.10.0.N is
# subscriber +346000000NN's phone on the mobile network. Authlib builds the
# authorization URL (PKCE S256) and redeems the callback; the "browser" in
# between is http.client with its socket bound to that address.
LINE = 8
LINE_MSISDN = f"+3460000000{LINE}"


def _from_line(url, cookies, method="GET", body=None):
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT, source_address=(f"127.10.0.{LINE}", 0))
    headers = {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, u.path + (f"?{u.query}" if u.query else ""), body=body, headers=headers)
    r = conn.getresponse()
    for c in r.headers.get_all("Set-Cookie") or []:
        k, _, v = c.split(";", 1)[0].partition("=")
        cookies[k] = v
    text = r.read().decode("utf-8")
    conn.close()
    return r.status, r.headers.get("Location"), text


def _field(page, name):
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no field {name} on the page: {page[:500]}"
    return html.unescape(m.group(1))


def authorize_on_the_line(authorization_url, redirect_uri):
    """The subscriber's browser from the authorization URL to the callback:
    the line authenticates it; it allows every scope if a consent page shows."""
    cookies = {}
    status, location, page = _from_line(authorization_url, cookies)
    for _ in range(10):
        if location and location.startswith(redirect_uri):
            return location
        if location and location.startswith("/"):
            status, location, page = _from_line(BASE + location, cookies)
        elif status == 200 and "/authorize/consent" in page:
            form = {"request": _field(page, "request"), "csrf": _field(page, "csrf")}
            for scope in re.findall(r'name="(scope:[^"]+)"', page):
                form[scope] = "on"
            form["decision"] = "allow"
            status, location, page = _from_line(f"{BASE}/authorize/consent", cookies, "POST", urlencode(form))
        else:
            raise AssertionError(f"unexpected answer on the way to the callback: {status} {location} {page[:300]}")
    raise AssertionError("too many redirects")


def test_authorization_code_with_pkce_userinfo_refresh_introspection_revocation(metadata):
    assert metadata["userinfo_endpoint"] == SANDBOX["endpoints"]["userinfo"]
    assert "S256" in metadata["code_challenge_methods_supported"]
    redirect_uri = demo_client("demo-orange")["redirect_uris"][0]
    with session_for(
        "demo-orange",
        metadata,
        scope="openid phone offline_access",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    ) as s:
        verifier = generate_token(64)
        nonce = generate_token(20)
        url, state = s.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        assert "code_challenge=" in url and "code_challenge_method=S256" in url
        callback = authorize_on_the_line(url, redirect_uri)
        assert dict(parse_qsl(urlsplit(callback).query))["iss"] == BASE  # RFC 9207
        # Authlib checks the state and sends the verifier.
        token = s.fetch_token(authorization_response=callback, code_verifier=verifier, state=state)
        claims = check_id_token(s, metadata, token, nonce=nonce)
        assert claims["amr"] == ["nba"], "authenticated by the network"
        assert LINE_MSISDN.lstrip("+") not in json.dumps(dict(claims))
        assert token.get("refresh_token")

        # UserInfo with the session's token (Authlib adds the bearer header).
        r = s.get(metadata["userinfo_endpoint"])
        assert r.status_code == 200, r.text
        info = UserInfo(r.json())
        assert info["sub"] == claims["sub"], "OIDC Core §5.3.2: the ID token's sub"
        assert info["phone_number"] == LINE_MSISDN and info["phone_number_verified"] is True

        # Refresh, then the new token speaks of the same subscriber.
        new = s.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
        assert new["access_token"] != token["access_token"]
        assert new["refresh_token"] != token["refresh_token"]
        if "id_token" in new:
            assert check_id_token(s, metadata, new)["sub"] == claims["sub"]
        r = s.post(metadata["userinfo_endpoint"])  # POST works too
        assert r.status_code == 200 and r.json()["sub"] == claims["sub"], r.text

        r = s.introspect_token(metadata["introspection_endpoint"], token=new["access_token"])
        live = r.json()
        assert live["active"] is True and live["client_id"] == "demo-orange"
        assert sorted(live["scope"].split()) == ["openid", "phone"]

        # Revoking the refresh token ends the grant, its access tokens too.
        r = s.revoke_token(
            metadata["revocation_endpoint"], token=new["refresh_token"], token_type_hint="refresh_token"
        )
        assert r.status_code == 200, r.text
        r = s.introspect_token(metadata["introspection_endpoint"], token=new["access_token"])
        assert r.json()["active"] is False
        r = s.get(metadata["userinfo_endpoint"])
        assert r.status_code == 401
        challenge = r.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
        assert r.json()["code"] == 41  # seed 003's body
        with pytest.raises(OAuthError) as e:
            s.refresh_token(metadata["token_endpoint"], refresh_token=new["refresh_token"])
        assert e.value.error == "invalid_grant"


def test_authorization_code_with_a_wrong_verifier_is_invalid_grant(metadata):
    redirect_uri = demo_client("demo-orange")["redirect_uris"][0]
    with session_for(
        "demo-orange", metadata, scope="openid phone", redirect_uri=redirect_uri, code_challenge_method="S256"
    ) as s:
        url, state = s.create_authorization_url(metadata["authorization_endpoint"], code_verifier=generate_token(64))
        callback = authorize_on_the_line(url, redirect_uri)
        with pytest.raises(OAuthError) as e:
            s.fetch_token(authorization_response=callback, code_verifier=generate_token(64), state=state)
        assert e.value.error == "invalid_grant"
