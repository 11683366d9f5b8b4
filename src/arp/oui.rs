//! Vendor names for MAC addresses from the IEEE OUI registry, as Debian's
//! `ieee-data` package installs it. Only the prefixes asked for are kept.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::io::BufRead;
use std::path::Path;

use crate::wire::MacAddr;

pub const OUI_TXT: &str = "/usr/share/ieee-data/oui.txt";

/// What the Vendor column says for `mac`.
pub fn label<S: BuildHasher>(mac: MacAddr, vendors: &HashMap<[u8; 3], String, S>) -> String {
    if let Some(v) = vendors.get(&mac.oui()) {
        return v.clone();
    }
    if mac.is_locally_administered() {
        "(locally administered)".to_string()
    } else {
        "(unknown)".to_string()
    }
}

/// Look up the vendors of `wanted` prefixes in an oui.txt-format reader:
/// lines `00-05-5D   (hex)\t\tD-LINK SYSTEMS, INC.`.
pub fn lookup<R: BufRead, S: BuildHasher>(
    r: R,
    wanted: &HashSet<[u8; 3], S>,
) -> HashMap<[u8; 3], String> {
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return out;
    }
    for line in r.lines().map_while(Result::ok) {
        if let Some((b, name)) = parse_line(&line)
            && wanted.contains(&b)
        {
            out.insert(b, name.to_string());
            if out.len() == wanted.len() {
                break;
            }
        }
    }
    out
}

/// Every vendor in an oui.txt-format reader (a watch meets MACs it cannot
/// know in advance).
pub fn lookup_all<R: BufRead>(r: R) -> HashMap<[u8; 3], String> {
    r.lines()
        .map_while(Result::ok)
        .filter_map(|line| parse_line(&line).map(|(b, name)| (b, name.to_string())))
        .collect()
}

/// A registry line `00-05-5D   (hex)\t\tD-LINK SYSTEMS, INC.`: prefix, name.
fn parse_line(line: &str) -> Option<([u8; 3], &str)> {
    let (prefix, name) = line.split_once("(hex)")?;
    let mut b = [0u8; 3];
    let mut parts = prefix.trim().split('-');
    let ok = b.iter_mut().all(|x| {
        parts
            .next()
            .and_then(|p| u8::from_str_radix(p, 16).ok())
            .map(|v| *x = v)
            .is_some()
    });
    (ok && parts.next().is_none()).then(|| (b, name.trim()))
}

/// Every vendor of the installed registry; empty when `ieee-data` is not
/// installed (every vendor then says unknown).
pub fn all_vendors() -> HashMap<[u8; 3], String> {
    match std::fs::File::open(Path::new(OUI_TXT)) {
        Ok(f) => lookup_all(std::io::BufReader::new(f)),
        Err(_) => HashMap::new(),
    }
}

/// Vendors for `macs` from the installed registry; empty when
/// `ieee-data` is not installed (every vendor then says unknown).
pub fn vendors(macs: impl IntoIterator<Item = MacAddr>) -> HashMap<[u8; 3], String> {
    let wanted: HashSet<[u8; 3]> = macs
        .into_iter()
        .filter(|m| !m.is_locally_administered())
        .map(MacAddr::oui)
        .collect();
    match std::fs::File::open(Path::new(OUI_TXT)) {
        Ok(f) => lookup(std::io::BufReader::new(f), &wanted),
        Err(_) => HashMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lines_and_labels() {
        let text = "OUI/MA-L   Organization\n\n00-05-5D   (hex)\t\tD-LINK SYSTEMS, INC.\n00055D     (base 16)\t\tD-LINK SYSTEMS, INC.\n00-22-72   (hex)\t\tAmerican Micro-Fuel Device Corp.\n";
        let wanted: HashSet<[u8; 3]> = [[0x00, 0x05, 0x5d]].into();
        let v = lookup(text.as_bytes(), &wanted);
        assert_eq!(v.len(), 1);
        let dlink: MacAddr = "00:05:5d:61:58:a8".parse().unwrap();
        assert_eq!(label(dlink, &v), "D-LINK SYSTEMS, INC.");
        assert_eq!(
            label("02:11:22:33:44:55".parse().unwrap(), &v),
            "(locally administered)"
        );
        assert_eq!(label("00:22:72:00:00:01".parse().unwrap(), &v), "(unknown)");
        let all = lookup_all(text.as_bytes());
        assert_eq!(all.len(), 2, "the (base 16) lines are not read twice");
        assert_eq!(all[&[0x00, 0x22, 0x72]], "American Micro-Fuel Device Corp.");
    }
}
