//! Input validation for the demo's tools. Each check returns a message fit to show the model
//! (tool input errors are reported in the result with `isError`, not as protocol errors).

use serde_json::{Map, Value};

/// A required string argument, trimmed and non-empty.
pub(crate) fn required_str(args: &Map<String, Value>, key: &str) -> Result<String, String> {
    match optional_str(args, key)? {
        Some(s) => Ok(s),
        None => Err(format!("missing required argument `{key}`")),
    }
}

/// An optional string argument, trimmed; empty or `null` counts as absent.
pub(crate) fn optional_str(args: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(format!("`{key}` must be a string, got {other}")),
    }
}

/// Limits the length of a free-text field.
pub(crate) fn max_len(key: &str, value: &str, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if n > max {
        return Err(format!(
            "`{key}` is too long ({n} characters, at most {max})"
        ));
    }
    Ok(())
}

/// A plausible email address, lowercased. Deliberately simple: it also keeps the characters
/// that would break a `clients://{email}` URI out.
pub(crate) fn email(raw: &str) -> Result<String, String> {
    let bad = || format!("`{raw}` is not a valid email address");
    if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    if raw.chars().any(|c| "<>()[]\\,;:\"/?#{}%".contains(c)) {
        return Err(bad());
    }
    let (local, domain) = raw.split_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(bad());
    }
    Ok(raw.to_lowercase())
}

fn digits(s: &str, at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// An RFC 3339 date-time with an offset (`2030-01-15T10:00:00Z`, `2030-01-15T11:00+01:00`;
/// seconds optional), returned uppercased in a form SQLite's date functions read.
pub(crate) fn date_time(raw: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!("`starts_at` {why}: expected an RFC 3339 date-time such as 2030-01-15T10:00:00Z")
    };
    let s = raw.to_uppercase();
    let b = s.as_bytes();
    let shape = b.len() >= 16 && b[4] == b'-' && b[7] == b'-' && (b[10] == b'T' || b[10] == b' ');
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute)) = (
        digits(&s, 0, 4),
        digits(&s, 5, 2),
        digits(&s, 8, 2),
        digits(&s, 11, 2),
        digits(&s, 14, 2),
    ) else {
        return Err(bad("is malformed"));
    };
    if !shape || b[13] != b':' {
        return Err(bad("is malformed"));
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad("is not a calendar date"));
    }
    if hour > 23 || minute > 59 {
        return Err(bad("is not a time of day"));
    }
    let mut rest = &s[16..];
    if let Some(r) = rest.strip_prefix(':') {
        match digits(r, 0, 2) {
            Some(sec) if sec <= 59 => rest = &r[2..],
            _ => return Err(bad("has invalid seconds")),
        }
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 || n > 9 {
                return Err(bad("has invalid fractional seconds"));
            }
            rest = &r[n..];
        }
    }
    let offset_ok = rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':'
            && digits(rest, 1, 2).is_some_and(|h| h <= 23)
            && digits(rest, 4, 2).is_some_and(|m| m <= 59));
    if !offset_ok {
        return Err(bad("needs a UTC offset (Z or +HH:MM)"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::{date_time, email};

    #[test]
    fn accepts_rfc3339_with_offsets() {
        for ok in [
            "2030-01-15T10:00:00Z",
            "2030-01-15t10:00z",
            "2030-01-15 10:00:00+01:00",
            "2028-02-29T23:59:59.123456-05:30",
        ] {
            assert!(date_time(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_times() {
        for bad in [
            "",
            "now",
            "2030-01-15",
            "2030-01-15T10:00:00",
            "2030-13-01T10:00Z",
            "2029-02-29T10:00Z",
            "2030-01-15T24:00Z",
            "2030-01-15T10:60Z",
            "2030-01-15T10:00:61Z",
            "2030-01-15T10:00:00.Z",
            "2030-01-15T10:00:00+1:00",
            "2030-01-15T10:00:00Z junk",
            "٢٠٣٠-01-15T10:00Z",
        ] {
            assert!(date_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email("Ada@Example.com").as_deref(), Ok("ada@example.com"));
        for bad in [
            "ada",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@x.com/x",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
