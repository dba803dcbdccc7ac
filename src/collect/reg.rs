//! Parse `reg query` output (Windows) into keys and values.
//!
//! The shape (from `reg query <key> [/s] [/v name]`): a line with the full key path, then one
//! line per value, indented four spaces, `name    TYPE    data` separated by four spaces.
//! A missing key prints `ERROR: The system was unable to find the specified registry key or
//! value.` and exits 1.

use std::collections::BTreeMap;

pub use crate::model::RegValue;

/// Key path → value name → value.
pub type RegKeys = BTreeMap<String, BTreeMap<String, RegValue>>;

pub fn parse(text: &str) -> RegKeys {
    let mut keys = RegKeys::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("HKEY_") {
            current = Some(line.trim().to_string());
            keys.entry(line.trim().to_string()).or_default();
        } else if let (Some(key), Some(rest)) = (&current, line.strip_prefix("    ")) {
            let parts: Vec<&str> = rest.splitn(3, "    ").collect();
            if parts.len() >= 2 && parts[1].starts_with("REG_") {
                keys.entry(key.clone()).or_default().insert(
                    parts[0].to_string(),
                    RegValue {
                        kind: parts[1].to_string(),
                        data: parts.get(2).unwrap_or(&"").to_string(),
                    },
                );
            }
        }
    }
    keys
}

/// A `REG_BINARY` value's data as `reg query` shows it (one run of hex digits) as bytes; None
/// when it is not hex.
pub fn binary(value: &RegValue) -> Option<Vec<u8>> {
    if value.kind != "REG_BINARY" {
        return None;
    }
    hex::decode(value.data.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_values() {
        let text = "\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client\r\n    Enabled    REG_DWORD    0x1\r\n    DisabledByDefault    REG_DWORD    0x0\r\n\r\nHKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\r\n    ProxyServer    REG_SZ    proxy.contoso.com:8080\r\n    ProxyOverride    REG_SZ    <local>;*.contoso.com\r\n    (Default)    REG_SZ    \r\n";
        let k = parse(text);
        let tls = &k["HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client"];
        assert_eq!(tls["Enabled"].number(), Some(1));
        assert_eq!(tls["DisabledByDefault"].kind, "REG_DWORD");
        let ie = &k["HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"];
        assert_eq!(ie["ProxyOverride"].data, "<local>;*.contoso.com");
        assert_eq!(ie["(Default)"].data, "");
    }

    #[test]
    fn binary_values() {
        let text = "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\r\n    WinHttpSettings    REG_BINARY    1800000000000000010000000000000000000000\r\n\r\n";
        let k = parse(text);
        let v = &k.values().next().unwrap()["WinHttpSettings"];
        assert_eq!(
            binary(v).unwrap(),
            [
                0x18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        let odd = |kind: &str, data: &str| {
            binary(&RegValue {
                kind: kind.into(),
                data: data.into(),
            })
        };
        assert_eq!(odd("REG_BINARY", "ABC"), None, "odd number of digits");
        assert_eq!(odd("REG_BINARY", "zz"), None);
        assert_eq!(odd("REG_SZ", "18000000"), None, "not a binary value");
        assert_eq!(odd("REG_BINARY", ""), Some(Vec::new()));
    }
}
