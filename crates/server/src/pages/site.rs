//! A *site*: a group of pages under one path that share a session cookie,
//! a CSRF sector and a look. Each site is one `const` [`PageSite`]; the
//! session and CSRF functions ([`super::session`]) and the middleware
//! ([`super::headers::site_router`]) take it as their parameter, so two sites
//! never share a cookie or accept each other's tokens.
//!
//! ```ignore
//! pub const AUTHORIZE: PageSite = PageSite {
//!     name: "netauth",
//!     frame: Frame::Sheet,
//!     cookie: "netauth_authorize",
//!     cookie_path: "/authorize",
//!     same_site: SameSite::Lax, // the client's redirect to /authorize is cross-site
//!     csrf_sector: "csrf:authorize",
//!     replay_scope: "pages:authorize",
//!     csrf_ttl: 600,
//! };
//! ```

/// The cookie's `SameSite` attribute (RFC 6265bis 5.4.7).
/// What surrounds a page's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A plain sheet: production pages (login, consent).
    Sheet,
    /// A phone mock-up: the sandbox's handset simulator and its settings.
    Phone,
    /// A wide page for tables: the sandbox's home page and request inspector.
    Wide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only on requests started by our own pages: for pages a person
    /// opens directly (the handset simulator).
    Strict,
    /// Also sent on top-level navigations from other sites: for pages a
    /// client redirects the browser to (`/authorize`).
    Lax,
}

impl SameSite {
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PageSite {
    /// Shown after each page's title and in error pages.
    pub name: &'static str,
    pub frame: Frame,
    /// The session cookie's name, unique per site.
    pub cookie: &'static str,
    /// The cookie's `Path`: the browser sends it to this site's pages only.
    pub cookie_path: &'static str,
    pub same_site: SameSite,
    /// The HMAC label of this site's CSRF tokens, apart from every other use
    /// of the master key and every other site.
    pub csrf_sector: &'static str,
    /// The replay store's "client" under which spent CSRF nonces are recorded.
    pub replay_scope: &'static str,
    /// How long a form stays usable, in seconds.
    pub csrf_ttl: i64,
}

impl PageSite {
    /// The look of an error answered outside any site's middleware; its
    /// cookie and sector are never used (no page issues tokens for it).
    pub const DEFAULT: PageSite = PageSite {
        name: "netauth",
        frame: Frame::Sheet,
        cookie: "netauth_page",
        cookie_path: "/",
        same_site: SameSite::Strict,
        csrf_sector: "csrf:default",
        replay_scope: "pages:default",
        csrf_ttl: 600,
    };
}
