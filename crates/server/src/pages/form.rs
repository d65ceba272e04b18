//! Forms posted by our pages (`application/x-www-form-urlencoded`, HTML
//! 4.01 17.13.4) and page query strings: each field at most once, so a
//! duplicated field cannot mean one thing to a check and another to the
//! change.

use super::layout::PageError;
use axum::http::{HeaderMap, StatusCode, header};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    /// A POST body; 415 unless it is urlencoded, 400 on a repeated field.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, PageError> {
        let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(PageError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported form",
                "This form is sent as application/x-www-form-urlencoded.",
            ));
        }
        Self::collect(body, |k| format!("The form field `{k}` appears more than once."))
    }

    /// A GET's query string (absent is empty); 400 on a repeated parameter.
    pub fn parse_query(query: Option<&str>) -> Result<Form, PageError> {
        Self::collect(query.unwrap_or("").as_bytes(), |k| {
            format!("The parameter `{k}` appears more than once.")
        })
    }

    fn collect(raw: &[u8], repeated: impl Fn(&str) -> String) -> Result<Form, PageError> {
        let mut out = HashMap::new();
        for (k, v) in form_urlencoded::parse(raw) {
            if out.insert(k.to_string(), v.into_owned()).is_some() {
                return Err(PageError::bad_request(repeated(&k)));
            }
        }
        Ok(Form(out))
    }

    /// A field, if present (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A field that must be present and non-empty.
    pub fn field(&self, name: &str) -> Result<&str, PageError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| PageError::bad_request(format!("The form field `{name}` is missing.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn urlencoded() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        h
    }

    #[test]
    fn fields_are_read_once_each() {
        let f = Form::parse(&urlencoded(), b"a=1&b=&c=x%20y").unwrap();
        assert_eq!(f.field("a").unwrap(), "1");
        assert_eq!(f.field("c").unwrap(), "x y");
        assert_eq!(f.get("b"), Some(""));
        assert_eq!(f.field("b").unwrap_err().status(), StatusCode::BAD_REQUEST);
        assert_eq!(Form::parse(&urlencoded(), b"a=1&a=1").unwrap_err().status(), StatusCode::BAD_REQUEST);
        assert_eq!(Form::parse_query(Some("q=1&q=2")).unwrap_err().status(), StatusCode::BAD_REQUEST);
        assert_eq!(Form::parse_query(None).unwrap().get("q"), None);
    }

    #[test]
    fn only_urlencoded_bodies_are_forms() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(Form::parse(&h, b"{}").unwrap_err().status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            Form::parse(&HeaderMap::new(), b"a=1").unwrap_err().status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
