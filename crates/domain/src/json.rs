//! Building JSON objects without `value["key"] = …`, which panics when the
//! value is not an object (the workspace denies unchecked indexing).

use serde_json::Value;

/// Sets `key` on a JSON object; does nothing to any other kind of value
/// (every caller builds the object with `json!({...})` first).
pub fn set(obj: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(m) = obj.as_object_mut() {
        m.insert(key.to_owned(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_on_objects_only() {
        let mut o = serde_json::json!({"a": 1});
        set(&mut o, "b", "x");
        assert_eq!(o, serde_json::json!({"a": 1, "b": "x"}));
        let mut n = Value::Null;
        set(&mut n, "b", 1);
        assert_eq!(n, Value::Null);
    }
}
