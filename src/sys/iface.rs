//! Network interfaces by name and index (`if_nametoindex`,
//! `if_indextoname`), and the `IFF_*` flags callers test on them.
//!
//! Safe to callers: names go in as `&str` and come out as `String`.

/// Interface flags (`ifi_flags`), as the `u32` netlink reports them in.
pub const IFF_UP: u32 = libc::IFF_UP as u32;
pub const IFF_LOOPBACK: u32 = libc::IFF_LOOPBACK as u32;
pub const IFF_NOARP: u32 = libc::IFF_NOARP as u32;

/// The index of the network interface `name` (for IPv6 scope ids).
pub fn interface_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the call's length.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// The name of the network interface with index `index`, if there is one
/// in this network namespace (for numeric IPv6 scope ids).
pub fn interface_name(index: u32) -> Option<String> {
    if index == 0 {
        return None;
    }
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has the IF_NAMESIZE bytes if_indextoname writes at most.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success `buf` holds a NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_name_and_back() {
        let i = interface_index("lo").expect("every namespace has lo");
        assert_eq!(interface_name(i).as_deref(), Some("lo"));
        assert_eq!(interface_name(0), None);
        assert_eq!(interface_index("lo\0x"), None);
        assert_eq!(interface_index("nt-no-such-if"), None);
    }
}
