//! The page layer: everything a browser page of netauth needs, for
//! production pages (the code flow's login and consent at `/authorize`)
//! and the sandbox's handset simulator alike. It holds no page of its own
//! and imports nothing from `sandbox/`: the sandbox's pages
//! (`sandbox/pages/`) are users of this layer, like production pages will
//! be, so production code never reaches sandbox code through it.
//!
//! ```text
//! site.rs     PageSite: one const per group of pages (cookie name and path,
//!             SameSite, CSRF sector, replay scope, name, frame)
//! layout.rs   Layout (lang, display, frame) for templates/base.html, render,
//!             PageError (the HTML error page, with a link back), see_other (303)
//! session.rs  sessions and single-use CSRF tokens of a site
//! form.rs     urlencoded forms and queries, each field at most once
//! headers.rs  site_router: security headers and errors in the site's layout
//! ```
//!
//! A new site, e.g. the code flow's login page:
//!
//! ```ignore
//! const AUTHORIZE: PageSite = PageSite { cookie_path: "/authorize", same_site: SameSite::Lax, … };
//! let r = pages::site_router(&AUTHORIZE, Router::new().route("/authorize/login", get(login_get).post(login_post)));
//! // GET: let (session, cookie) = AUTHORIZE.page_session(&app, &headers);
//! //      let csrf = AUTHORIZE.form_token(&app, &session, &request_id, "login");
//! //      Ok(with_cookie(render(StatusCode::OK, &LoginPage { layout: Layout::new(&AUTHORIZE, "Sign in").lang(l).display(d), csrf, … }), cookie))
//! // POST: refuse_cross_site(&headers)?; let form = Form::parse(&headers, &body)?; …own checks…;
//! //      AUTHORIZE.verify_csrf(&app, &headers, &form, &request_id, "login", &back).await?; …change…; see_other(&next)
//! ```
//!
//! SECURITY.md "Pages":
//! - 9, CSRF: [`session`]: tokens bound to the session cookie (`HttpOnly`,
//!   the site's `SameSite` and path), the subject, the action and the site;
//!   single use; cross-site POSTs (`Sec-Fetch-Site`) refused before
//!   anything else. GET never changes anything.
//! - 10, 11: [`headers`] on every response of a site: CSP with
//!   `frame-ancestors 'none'` (the one inline style allowed by its hash),
//!   `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, `no-store`;
//!   no scripts, no third-party assets.
//! - 12: [`see_other`], 303 after every POST.

pub mod form;
pub mod headers;
pub mod layout;
pub mod session;
pub mod site;

pub use form::Form;
pub use headers::{FormTarget, site_router};
pub use layout::{Display, Lang, Layout, PageError, PageResult, render, see_other};
pub use session::{CSRF_FIELD, CsrfNonce, CsrfRefusal, Session, refuse_cross_site, with_cookie};
pub use site::{Frame, PageSite, SameSite};
