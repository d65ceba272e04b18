"""The CAMARA resource APIs' OpenAPI documents, as a running sandbox serves
them, checked by validators we did not write (PyPI openapi-spec-validator
and openapi-schema-validator):

- each document is a valid OpenAPI 3.0 document;
- live answers of each operation (success and error) conform to the
  schemas the document gives for them.

Needs a sandbox already running (tests/interop/run starts one):
  NETAUTH_INTEROP_BASE_URL, NETAUTH_INTEROP_SANDBOX_JSON
"""

import json
import os

import pytest
import requests
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from openapi_spec_validator.versions.shortcuts import get_spec_version

BASE = os.environ.get("NETAUTH_INTEROP_BASE_URL")
SANDBOX_JSON = os.environ.get("NETAUTH_INTEROP_SANDBOX_JSON")
if not BASE or not SANDBOX_JSON:
    pytest.exit(
        "set NETAUTH_INTEROP_BASE_URL and NETAUTH_INTEROP_SANDBOX_JSON (tests/interop/run does)",
        returncode=2,
    )

with open(SANDBOX_JSON, encoding="utf-8") as f:
    SANDBOX = json.load(f)

TIMEOUT = 10
APIS = ["/number-verification/v2", "/sim-swap/v2"]
CORRELATOR = "c0ffee00-1234-5678-9abc-def012345678"


def client(client_id):
    return next(c for c in SANDBOX["clients"] if c["client_id"] == client_id)


def document(base):
    r = requests.get(f"{BASE}{base}/openapi.json", timeout=TIMEOUT)
    assert r.status_code == 200
    return r.json()


@pytest.mark.parametrize("base", APIS)
def test_document_is_valid_openapi_3_0(base):
    doc = document(base)
    assert doc["openapi"].startswith("3.0.")
    assert "3.0" in str(get_spec_version(doc))
    validate(doc)  # raises on any violation
    assert doc["servers"][0]["variables"]["apiRoot"]["default"] == BASE
    # The validator is not a no-op: a dangling $ref is refused.
    broken = json.loads(json.dumps(doc))
    first = next(iter(broken["paths"].values()))
    next(iter(first.values()))["responses"]["401"] = {"$ref": "#/components/responses/Nowhere"}
    with pytest.raises(Exception):
        validate(broken)


def response_schema(doc, path, method, status):
    """The schema of an operation's JSON answer, with the document's
    components reachable for $ref."""
    r = doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in r:
        r = doc["components"]["responses"][r["$ref"].rsplit("/", 1)[1]]
    schema = dict(r["content"]["application/json"]["schema"])
    schema["components"] = doc["components"]
    return schema


def conforms(doc, path, method, resp):
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers.get("x-correlator") == CORRELATOR
    OAS30Validator(response_schema(doc, path, method, resp.status_code)).validate(resp.json())


def cc_token(scope):
    c = client("demo-sim-swap")
    r = requests.post(
        f"{BASE}/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(c["client_id"], c["client_secret"]),
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def network_token(msisdn, scope):
    """CIBA with an operator token from the sandbox's entitlement server."""
    ot = requests.post(
        f"{BASE}/sandbox/v1/operator-tokens", json={"phoneNumber": msisdn}, timeout=TIMEOUT
    ).json()["operator_token"]
    c = client("demo-ciba")
    auth = (c["client_id"], c["client_secret"])
    r = requests.post(
        f"{BASE}/bc-authorize",
        data={"login_hint": f"operatortoken:{ot}", "scope": f"dpv:FraudPreventionAndDetection {scope}"},
        auth=auth,
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    r = requests.post(
        f"{BASE}/token",
        data={"grant_type": "urn:openid:params:grant-type:ciba", "auth_req_id": r.json()["auth_req_id"]},
        auth=auth,
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def call(method, url, token=None, body=None):
    headers = {"x-correlator": CORRELATOR}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return requests.request(method, url, headers=headers, json=body, timeout=TIMEOUT)


def test_sim_swap_answers_conform_to_the_document():
    doc = document("/sim-swap/v2")
    base = f"{BASE}/sim-swap/v2"
    token = cc_token("sim-swap:check sim-swap:retrieve-date")
    cases = [
        ("/check", {"phoneNumber": "+34655555555"}, 200),
        ("/check", {"phoneNumber": "+34655555555", "maxAge": 100000}, 400),
        ("/check", {"phoneNumber": "+34612345678"}, 404),
        ("/check", {}, 422),
        ("/retrieve-date", {"phoneNumber": "+34655555555"}, 200),
        ("/retrieve-date", {"phoneNumber": "+34644444444"}, 200),
        ("/retrieve-date", {"phoneNumber": "+34688888888"}, 200),
        ("/retrieve-date", {"phoneNumber": "+34699999999"}, 422),
    ]
    for path, body, status in cases:
        r = call("POST", base + path, token, body)
        assert r.status_code == status, (path, body, r.text)
        conforms(doc, path, "post", r)
    r = call("POST", base + "/check", None, {"phoneNumber": "+34655555555"})
    assert r.status_code == 401
    conforms(doc, "/check", "post", r)
    r = call("POST", base + "/check", cc_token("sim-swap:retrieve-date"), {"phoneNumber": "+34655555555"})
    assert r.status_code == 403
    conforms(doc, "/check", "post", r)
    r = call("GET", base + "/check", token)
    assert r.status_code == 405
    conforms(doc, "/check", "post", r)


def test_number_verification_answers_conform_to_the_document():
    doc = document("/number-verification/v2")
    base = f"{BASE}/number-verification/v2"
    number = "+34655555555"
    r = call("POST", base + "/verify", network_token(number, "number-verification:verify"), {"phoneNumber": number})
    assert r.status_code == 200, r.text
    assert r.json() == {"devicePhoneNumberVerified": True}
    conforms(doc, "/verify", "post", r)
    token = network_token(number, "number-verification:device-phone-number:read")
    r = call("GET", base + "/device-phone-number", token)
    assert r.status_code == 200, r.text
    assert r.json() == {"devicePhoneNumber": number}
    conforms(doc, "/device-phone-number", "get", r)
    r = call("GET", base + "/device-phone-number", token)  # spent
    assert r.status_code == 401
    conforms(doc, "/device-phone-number", "get", r)
    r = call("POST", base + "/verify", network_token(number, "number-verification:verify"), {})
    assert r.status_code == 400
    conforms(doc, "/verify", "post", r)
    r = call("POST", base + "/verify", cc_token("sim-swap"), {"phoneNumber": number})
    assert r.status_code == 403
    conforms(doc, "/verify", "post", r)
