//! The base layout every page extends (`templates/base.html`), rendering,
//! the HTML error page and the 303 redirect after a POST.
//!
//! The layout follows OIDC Core 3.1.2.1: `display` (page, popup, touch,
//! wap) and the language of `ui_locales` become [`Display`] and [`Lang`];
//! `wap` pages carry no stylesheet, so every page must read as plain HTML.

use super::site::{Frame, PageSite};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use netauth_store::StoreError;

/// The only style of every page; the CSP allows it by its hash
/// ([`super::headers`]), so nothing injected could add another.
pub const CSS: &str = include_str!("../../templates/style.css");

/// A language pages are written in (the `lang` attribute). The code flow
/// brings the translations; until then every text is English whatever the
/// code says, so only `En` is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
    Fr,
    Nb,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Es, Lang::Fr, Lang::Nb];

    /// The BCP 47 code, for `<html lang>` and `Content-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::Nb => "nb",
        }
    }

    /// One language tag (`es`, `es-ES`, `NB-no`), by its primary subtag.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.split('-').next().unwrap_or("");
        Lang::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The first supported language of `ui_locales` (space-separated tags
    /// in order of preference, OIDC Core 3.1.2.1), else English.
    pub fn negotiate(ui_locales: Option<&str>) -> Lang {
        ui_locales.unwrap_or("").split(' ').find_map(Lang::parse).unwrap_or_default()
    }
}

/// How the page is shown (OIDC Core 3.1.2.1 `display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Display {
    /// A full user-agent page (the default).
    #[default]
    Page,
    /// A popup window: the page fits a small window.
    Popup,
    /// A touch device.
    Touch,
    /// A feature phone: no stylesheet, plain HTML only.
    Wap,
}

impl Display {
    pub fn parse(s: &str) -> Option<Display> {
        match s {
            "page" => Some(Display::Page),
            "popup" => Some(Display::Popup),
            "touch" => Some(Display::Touch),
            "wap" => Some(Display::Wap),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Display::Page => "page",
            Display::Popup => "popup",
            Display::Touch => "touch",
            Display::Wap => "wap",
        }
    }
}

/// What the base layout needs from every page. Built from the site
/// ([`PageSite::layout`]), then adjusted per request.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// After the title (`<title>`), and in an error page's status line.
    pub site_name: &'static str,
    pub frame: Frame,
    pub lang: Lang,
    pub display: Display,
    /// Seconds between automatic reloads (the handset page only).
    pub refresh: Option<u32>,
    pub css: &'static str,
}

impl Layout {
    pub fn new(site: &PageSite, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            site_name: site.name,
            frame: site.frame,
            lang: Lang::default(),
            display: Display::default(),
            refresh: None,
            css: CSS,
        }
    }
    pub fn lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }
    pub fn display(mut self, display: Display) -> Self {
        self.display = display;
        self
    }
    pub fn refresh(mut self, seconds: u32) -> Self {
        self.refresh = Some(seconds);
        self
    }
    /// Whether the stylesheet is sent (not to `wap` browsers).
    pub fn styled(&self) -> bool {
        self.display != Display::Wap
    }
    pub fn phone(&self) -> bool {
        self.frame == Frame::Phone
    }
    /// The class of `<main>`: the frame's look.
    pub fn frame_class(&self) -> &'static str {
        match self.frame {
            Frame::Sheet => "sheet",
            Frame::Phone => "phone",
            Frame::Wide => "wide",
        }
    }
    /// The `<body>` class: none for full pages, `display-…` otherwise.
    pub fn body_class(&self) -> Option<String> {
        (self.display != Display::Page).then(|| format!("display-{}", self.display.as_str()))
    }
}

/// Renders a page with `status`; a template failure is logged and answered
/// with a bare 500 page (never the template error itself).
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Internal error.</p>"),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    message: &'a str,
    back: Option<&'a str>,
}

/// A page-shaped error: status, a sentence for the person, a way back.
///
/// It renders in the layout of the site it is answered on: the site's
/// middleware ([`super::headers::site_router`]) renders it with the site's
/// name and frame, and in the language and display set here.
#[derive(Debug, Clone)]
pub struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
    back: Option<String>,
    lang: Lang,
    display: Display,
}

pub type PageResult = Result<Response, PageError>;

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            back: None,
            lang: Lang::default(),
            display: Display::default(),
        }
    }
    /// The link back (a path of ours).
    pub fn back(mut self, to: impl Into<String>) -> Self {
        self.back = Some(to.into());
        self
    }
    /// Shows the error in this language and display mode.
    pub fn shown(mut self, lang: Lang, display: Display) -> Self {
        self.lang = lang;
        self.display = display;
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }
    pub fn not_found(title: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, title, message)
    }
    pub fn status(&self) -> StatusCode {
        self.status
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn into_message(self) -> String {
        self.message
    }

    /// The error page in `site`'s layout.
    pub fn render_for(&self, site: &PageSite) -> Response {
        let page = ErrorPage {
            layout: Layout::new(site, self.title).lang(self.lang).display(self.display),
            status: self.status.as_u16(),
            message: &self.message,
            back: self.back.as_deref(),
        };
        render(self.status, &page)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure on a page");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", "The database is unavailable; try again.")
    }
}

impl IntoResponse for PageError {
    /// Rendered in the default site's layout, and kept in the response's
    /// extensions so the site's middleware can render it in its own.
    fn into_response(self) -> Response {
        let mut resp = self.render_for(&PageSite::DEFAULT);
        resp.extensions_mut().insert(self);
        resp
    }
}

/// 303 See Other to one of our own pages (SECURITY.md 12: never 307 after
/// a POST, which would resend the form).
pub fn see_other(location: &str) -> PageResult {
    let loc = HeaderValue::from_str(location)
        .map_err(|_| PageError::bad_request("The redirect target is not a valid path."))?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, loc)]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_has_no_closing_tag() {
        assert!(!CSS.contains("</"));
    }

    #[test]
    fn languages_are_negotiated_from_ui_locales() {
        assert_eq!(Lang::negotiate(Some("de-DE nb-NO es")), Lang::Nb);
        assert_eq!(Lang::negotiate(Some("FR-ca")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("de")), Lang::En);
        assert_eq!(Lang::negotiate(None), Lang::En);
    }

    #[test]
    fn wap_pages_have_no_stylesheet() {
        let layout = Layout::new(&PageSite::DEFAULT, "Sign in").display(Display::Wap).lang(Lang::Es);
        let page = ErrorPage { layout, status: 400, message: "m", back: Some("/x") };
        let html = page.render().unwrap_or_default();
        assert!(html.contains(r#"<html lang="es">"#), "{html}");
        assert!(!html.contains("<style>"), "{html}");
        assert!(html.contains(r#"<body class="display-wap">"#), "{html}");
        assert!(html.contains(r#"<a href="/x">"#), "{html}");
    }
}

#[cfg(test)]
mod site_tests {
    use super::*;
    use crate::pages::site::SameSite;

    #[test]
    fn error_page_takes_the_site_look() {
        const PHONE: PageSite = PageSite {
            name: "netauth sandbox",
            frame: Frame::Phone,
            cookie: "c",
            cookie_path: "/p",
            same_site: SameSite::Strict,
            csrf_sector: "csrf:p",
            replay_scope: "pages:p",
            csrf_ttl: 60,
        };
        let e = PageError::not_found("Unknown number", "No such number.").back("/back");
        let resp = e.render_for(&PHONE);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let plain = e.clone().into_response();
        assert!(plain.extensions().get::<PageError>().is_some(), "kept for the site's middleware");
        let page = ErrorPage {
            layout: Layout::new(&PHONE, "Unknown number"),
            status: 404,
            message: "m",
            back: None,
        };
        let html = page.render().unwrap_or_default();
        assert!(html.contains(r#"<main class="phone">"#), "{html}");
        assert!(html.contains("<title>Unknown number · netauth sandbox</title>"), "{html}");
        assert!(html.contains(r#"<html lang="en">"#), "{html}");
        assert!(html.contains("<body>\n<main"), "{html}");
    }
}
