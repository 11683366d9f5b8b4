//! The kernel's neighbour cache, from /proc/net/arp.

use std::io::BufRead;
use std::net::Ipv4Addr;

use crate::wire::MacAddr;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub ip: Ipv4Addr,
    /// `None` while the entry is incomplete (a request is pending or went
    /// unanswered).
    pub mac: Option<MacAddr>,
    pub hw_type: u16,
    pub flags: u32,
    pub iface: String,
}

const ATF_COM: u32 = 0x02;
const ATF_PERM: u32 = 0x04;
const ATF_PUBL: u32 = 0x08;

impl Entry {
    /// Flag names: `complete`, `permanent`, `published`, or `incomplete`.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.flags & ATF_COM != 0 {
            v.push("complete");
        } else {
            v.push("incomplete");
        }
        if self.flags & ATF_PERM != 0 {
            v.push("permanent");
        }
        if self.flags & ATF_PUBL != 0 {
            v.push("published");
        }
        v
    }
}

/// `IP HWtype Flags HWaddress Mask Device` rows; unparsable rows are
/// reported through `warn` and skipped.
pub fn parse<R: BufRead>(r: R, warn: &mut dyn FnMut(String)) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, line) in r.lines().map_while(Result::ok).enumerate().skip(1) {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        let parsed = (|| {
            let [ip, hw, flags, mac, _mask, dev] = f.as_slice() else {
                return None;
            };
            let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
            let mac: MacAddr = mac.parse().ok()?;
            Some(Entry {
                ip: ip.parse().ok()?,
                hw_type: u16::from_str_radix(hw.trim_start_matches("0x"), 16).ok()?,
                mac: (flags & ATF_COM != 0 && mac != MacAddr::ZERO).then_some(mac),
                flags,
                iface: (*dev).to_string(),
            })
        })();
        match parsed {
            Some(e) => out.push(e),
            None if line.trim().is_empty() => {}
            None => warn(format!(
                "warning: /proc/net/arp line {}: not understood; skipped",
                i + 1
            )),
        }
    }
    out
}

/// This network namespace's cache, from /proc/net/arp.
///
/// # Errors
/// The file cannot be opened.
pub fn read(warn: &mut dyn FnMut(String)) -> std::io::Result<Vec<Entry>> {
    let f = std::fs::File::open("/proc/net/arp")?;
    Ok(parse(std::io::BufReader::new(f), warn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_flags_and_incomplete_entries() {
        let text = "IP address       HW type     Flags       HW address            Mask     Device\n\
198.51.100.2     0x1         0x2         02:11:22:33:44:55     *        veth0\n\
198.51.100.9     0x1         0x0         00:00:00:00:00:00     *        veth0\n\
198.51.100.3     0x1         0x6         02:11:22:33:44:66     *        veth1\n\
garbage\n";
        let mut warnings = Vec::new();
        let e = parse(text.as_bytes(), &mut |w| warnings.push(w));
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].mac, Some("02:11:22:33:44:55".parse().unwrap()));
        assert_eq!(e[0].flag_names(), ["complete"]);
        assert_eq!(e[1].mac, None);
        assert_eq!(e[1].flag_names(), ["incomplete"]);
        assert_eq!(e[2].flag_names(), ["complete", "permanent"]);
        assert_eq!(e[2].iface, "veth1");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("line 5"));
    }
}
