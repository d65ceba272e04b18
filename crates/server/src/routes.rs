//! Every public path, defined once. The router mounts each endpoint at its
//! canonical path and at the aliases the seed integrations use; discovery
//! advertises the canonical paths. Nothing else spells a path.

/// One endpoint: its canonical path and the aliases operators' documented
/// integrations call it by.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub path: &'static str,
    pub aliases: &'static [&'static str],
}

impl Endpoint {
    pub fn paths(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.path).chain(self.aliases.iter().copied())
    }
}

pub const OPENID_CONFIGURATION: Endpoint =
    Endpoint { path: "/.well-known/openid-configuration", aliases: &[] };
pub const OAUTH_METADATA: Endpoint =
    Endpoint { path: "/.well-known/oauth-authorization-server", aliases: &[] };
pub const JWKS: Endpoint = Endpoint { path: "/jwks", aliases: &[] };

/// The token endpoint. Seed 000 calls it `/apigateway/token`, seed 001
/// `/oauth/v2/token`, seed 002 `/oauth2/token`, seed 003
/// `/openidconnect/fr/v1/token`.
pub const TOKEN: Endpoint = Endpoint {
    path: "/token",
    aliases: &["/apigateway/token", "/oauth/v2/token", "/oauth2/token", SEED_003_TOKEN],
};

/// Seed 003's token path, where its documented dialect applies (a refresh
/// with an invalid `scope` gets the originally granted scope).
pub const SEED_003_TOKEN: &str = "/openidconnect/fr/v1/token";

/// The authorization endpoint (GET and POST). Seed 001 calls it
/// `/oauth/v2/authorize`, seed 002 `/oauth2/auth`, seed 003
/// `/openidconnect/fr/v1/authorize`.
pub const AUTHORIZE: Endpoint = Endpoint {
    path: "/authorize",
    aliases: &["/oauth/v2/authorize", SEED_002_AUTHORIZE, "/openidconnect/fr/v1/authorize"],
};

/// The pages of an authorization request in progress (login fallback,
/// handset wait, one-time code, confirmation, consent). GET `RESUME`
/// shows the request's next step; each POST answers 303.
pub const AUTHORIZE_RESUME: Endpoint = Endpoint { path: "/authorize/resume", aliases: &[] };
pub const AUTHORIZE_LOGIN: Endpoint = Endpoint { path: "/authorize/login", aliases: &[] };
pub const AUTHORIZE_CODE: Endpoint = Endpoint { path: "/authorize/code", aliases: &[] };
pub const AUTHORIZE_CONFIRM: Endpoint = Endpoint { path: "/authorize/confirm", aliases: &[] };
pub const AUTHORIZE_CONSENT: Endpoint = Endpoint { path: "/authorize/consent", aliases: &[] };

/// Seed 004's token endpoint: the same grant, with the G2P Connect headers
/// (`timestamp` required, `message_id` and `accept-language` accepted).
pub const G2P_TOKEN: Endpoint = Endpoint { path: "/oauth2/client/token", aliases: &[] };

/// CIBA's backchannel authentication endpoint; seed 000 calls it
/// `/apigateway/bc-authorize`, Vonage's network-auth SDK `/oauth2/bc-authorize`
/// (beside seed 002's `/oauth2/token`).
pub const BC_AUTHORIZE: Endpoint =
    Endpoint { path: "/bc-authorize", aliases: &["/apigateway/bc-authorize", "/oauth2/bc-authorize"] };

/// Seed 002's Network Enablement: `auth_url`s for an application's backend.
pub const NETWORK_ENABLEMENT: Endpoint = Endpoint { path: "/v0.1/network-enablement", aliases: &[] };

/// Where Network Enablement's `auth_url`s start the code flow: seed 002's
/// name of the authorization endpoint.
pub const SEED_002_AUTHORIZE: &str = "/oauth2/auth";

/// The UserInfo endpoint (OIDC Core §5.3; GET and POST). Seed 003 calls
/// it `/openidconnect/v1/userinfo`.
pub const USERINFO: Endpoint = Endpoint { path: "/userinfo", aliases: &["/openidconnect/v1/userinfo"] };

/// Where a browser app may call netauth itself, from the origins its client
/// registered (CORS, `infra::cors`), with the methods each path serves: the
/// token endpoint, UserInfo, and the CAMARA resource APIs.
pub const CORS: &[(Endpoint, &str)] = &[
    (TOKEN, "POST"),
    (G2P_TOKEN, "POST"),
    (USERINFO, "GET, POST"),
    (NUMBER_VERIFICATION_VERIFY, "POST"),
    (NUMBER_VERIFICATION_DEVICE_PHONE_NUMBER, "GET"),
    (SIM_SWAP_CHECK, "POST"),
    (SIM_SWAP_RETRIEVE_DATE, "POST"),
    (NUMBER_VERIFICATION_V0_VERIFY, "POST"),
    (SIM_SWAP_V0_CHECK, "POST"),
    (SIM_SWAP_V0_RETRIEVE_DATE, "POST"),
];

/// The methods of `path` if it is a CORS path.
pub fn cors_methods(path: &str) -> Option<&'static str> {
    CORS.iter().find(|(e, _)| e.paths().any(|p| p == path)).map(|(_, m)| *m)
}

pub const INTROSPECT: Endpoint = Endpoint { path: "/introspect", aliases: &[] };
pub const REVOKE: Endpoint = Endpoint { path: "/revoke", aliases: &[] };

pub const HEALTHZ: Endpoint = Endpoint { path: "/healthz", aliases: &[] };
pub const READYZ: Endpoint = Endpoint { path: "/readyz", aliases: &[] };
pub const METRICS: Endpoint = Endpoint { path: "/metrics", aliases: &[] };

pub const ADMIN_BASE: &str = "/admin/v1";
pub const ADMIN_OPENAPI: Endpoint = Endpoint { path: "/admin/v1/openapi.json", aliases: &[] };

/// Every OpenAPI document the server serves. The sandbox lists them in
/// `sandbox.json` and the test suite (tests/openapi) validates and fuzzes
/// each one, so a document added here is checked from then on.
pub const OPENAPI_DOCUMENTS: &[Endpoint] =
    &[ADMIN_OPENAPI, OAUTH_OPENAPI, SANDBOX_OPENAPI, NUMBER_VERIFICATION_OPENAPI, SIM_SWAP_OPENAPI];

/// The OpenAPI document of the OAuth, OIDC and CIBA endpoints above.
pub const OAUTH_OPENAPI: Endpoint = Endpoint { path: "/openapi/oauth.json", aliases: &[] };

/// Sandbox mode only: the OpenAPI document of the sandbox's JSON API.
pub const SANDBOX_OPENAPI: Endpoint = Endpoint { path: "/sandbox/openapi.json", aliases: &[] };

/// Sandbox only: a protected resource that echoes what a resource server
/// sees in a token, so developers can check theirs.
pub const SANDBOX_ECHO: Endpoint = Endpoint { path: "/sandbox/echo", aliases: &[] };

/// Number Verification v2 (CAMARA NumberVerification r3.2).
pub const NUMBER_VERIFICATION_VERIFY: Endpoint =
    Endpoint { path: "/number-verification/v2/verify", aliases: &[] };
pub const NUMBER_VERIFICATION_DEVICE_PHONE_NUMBER: Endpoint =
    Endpoint { path: "/number-verification/v2/device-phone-number", aliases: &[] };
pub const NUMBER_VERIFICATION_OPENAPI: Endpoint =
    Endpoint { path: "/number-verification/v2/openapi.json", aliases: &[] };

/// Any other path under the API's base: 404 `NOT_FOUND` in its dialect.
pub const NUMBER_VERIFICATION_OTHER: Endpoint =
    Endpoint { path: "/number-verification/v2/{*rest}", aliases: &[] };

/// SIM Swap v2 (CAMARA SimSwap r3.3).
pub const SIM_SWAP_CHECK: Endpoint = Endpoint { path: "/sim-swap/v2/check", aliases: &[] };
pub const SIM_SWAP_RETRIEVE_DATE: Endpoint = Endpoint { path: "/sim-swap/v2/retrieve-date", aliases: &[] };
pub const SIM_SWAP_OPENAPI: Endpoint = Endpoint { path: "/sim-swap/v2/openapi.json", aliases: &[] };
pub const SIM_SWAP_OTHER: Endpoint = Endpoint { path: "/sim-swap/v2/{*rest}", aliases: &[] };

// The older API versions the operators' SDKs call (`camara::version`), at
// CAMARA's own base path and at the operators' names for it: Telefónica's
// gateway (seed 000) prefixes `/apigateway`, Vonage's (seed 002) names the
// release (`/camara/sim-swap/v040`, `/camara/number-verification/v031`).

/// Number Verification 0.3.1.
pub const NUMBER_VERIFICATION_V0_VERIFY: Endpoint = Endpoint {
    path: "/number-verification/v0/verify",
    aliases: &["/apigateway/number-verification/v0/verify", "/camara/number-verification/v031/verify"],
};
pub const NUMBER_VERIFICATION_V0_OTHER: Endpoint = Endpoint {
    path: "/number-verification/v0/{*rest}",
    aliases: &["/apigateway/number-verification/v0/{*rest}", "/camara/number-verification/v031/{*rest}"],
};

/// SIM Swap 0.4.0.
pub const SIM_SWAP_V0_CHECK: Endpoint = Endpoint {
    path: "/sim-swap/v0/check",
    aliases: &["/apigateway/sim-swap/v0/check", "/camara/sim-swap/v040/check"],
};
pub const SIM_SWAP_V0_RETRIEVE_DATE: Endpoint = Endpoint {
    path: "/sim-swap/v0/retrieve-date",
    aliases: &["/apigateway/sim-swap/v0/retrieve-date", "/camara/sim-swap/v040/retrieve-date"],
};
pub const SIM_SWAP_V0_OTHER: Endpoint = Endpoint {
    path: "/sim-swap/v0/{*rest}",
    aliases: &["/apigateway/sim-swap/v0/{*rest}", "/camara/sim-swap/v040/{*rest}"],
};

/// The admin API (`/admin/v1`, bearer admin token). The `#[utoipa::path]`
/// attributes repeat these strings (the macro takes literals); the OpenAPI
/// snapshot test and `admin_paths_are_documented` keep them in step.
pub mod admin {
    pub const CLIENTS: &str = "/admin/v1/clients";
    pub const CLIENT: &str = "/admin/v1/clients/{client_id}";
    pub const CLIENT_SUSPEND: &str = "/admin/v1/clients/{client_id}/suspend";
    pub const CLIENT_ACTIVATE: &str = "/admin/v1/clients/{client_id}/activate";
    pub const CLIENT_SECRETS: &str = "/admin/v1/clients/{client_id}/secrets";
    pub const CLIENT_SECRET: &str = "/admin/v1/clients/{client_id}/secrets/{secret_id}";
    pub const KEYS: &str = "/admin/v1/keys";
    pub const KEYS_ROTATE: &str = "/admin/v1/keys/rotate";
    pub const OPENAPI: &str = super::ADMIN_OPENAPI.path;
    pub const OPERATORS: &str = "/admin/v1/operators";
    pub const OPERATOR: &str = "/admin/v1/operators/{id}";
    pub const SUBSCRIBERS: &str = "/admin/v1/subscribers";
    pub const SUBSCRIBER: &str = "/admin/v1/subscribers/{phone_number}";
    pub const SUBSCRIBER_CONSENTS: &str = "/admin/v1/subscribers/{phone_number}/consents";
    pub const SUBSCRIBER_SIMS: &str = "/admin/v1/subscribers/{phone_number}/sims";
    pub const LEGAL_BASES: &str = "/admin/v1/legal-bases";
}

/// Sandbox mode only: the handset simulator's JSON API, the entitlement
/// server issuing operator tokens, and SIM swaps.
pub mod sandbox {
    pub const HANDSET_PROMPTS: &str = "/sandbox/v1/handsets/{msisdn}/prompts";
    pub const HANDSET_PROMPT: &str = "/sandbox/v1/handsets/{msisdn}/prompts/{id}";
    pub const HANDSET_POLICY: &str = "/sandbox/v1/handsets/{msisdn}/policy";
    pub const OPERATOR_TOKENS: &str = "/sandbox/v1/operator-tokens";
    /// A SIM swap on the simulated network, now or at a past time.
    pub const SIM_SWAP: &str = "/sandbox/v1/subscribers/{phone_number}/sim-swap";

    /// The sandbox's home page (sandbox mode only; production answers 404).
    pub const HOME: &str = "/";
    /// The request inspector: the last answered requests, as a page and as JSON.
    pub const REQUESTS_PAGE: &str = "/sandbox/requests";
    pub const REQUESTS: &str = "/sandbox/v1/requests";

    /// The handset simulator pages (the cookie path is their common prefix).
    pub const HANDSET_PAGES: &str = "/sandbox/handset";
    pub const HANDSET_PAGE: &str = "/sandbox/handset/{msisdn}";
    pub const HANDSET_PAGE_PROMPT: &str = "/sandbox/handset/{msisdn}/prompts/{id}";
    pub const HANDSET_PAGE_POLICY: &str = "/sandbox/handset/{msisdn}/policy";
    pub const HANDSET_PAGE_CONSENTS: &str = "/sandbox/handset/{msisdn}/consents";

    /// A route template with `{msisdn}` filled in.
    pub fn for_msisdn(template: &str, msisdn: &str) -> String {
        template.replace("{msisdn}", msisdn)
    }
}
