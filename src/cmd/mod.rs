//! One module per subcommand: validated settings from the clap structs,
//! the library call, and rendering.

pub mod arp;
pub mod generate;
pub mod probe;
pub mod sockstat;
pub mod tftp;

/// An IPv6 literal with a zone, `fe80::1%eth0` or `fe80::1%2`: the address
/// and the scope id (a name is looked up with `if_nametoindex`, in this
/// network namespace). `None` when `host` has no `%`. Read here, not by the
/// resolver, which would take a bad one for a name to ask DNS about.
pub fn parse_zoned_v6(host: &str) -> anyhow::Result<Option<(std::net::Ipv6Addr, u32)>> {
    let Some((address, zone)) = host.split_once('%') else {
        return Ok(None);
    };
    let ip = address.parse::<std::net::Ipv6Addr>().map_err(|_| {
        crate::UsageError(format!(
            "'{host}': only an IPv6 address takes a %ZONE (an interface), e.g. fe80::1%eth0"
        ))
    })?;
    let scope = match zone.parse::<u32>() {
        Ok(n) => n,
        Err(_) => crate::sys::interface_index(zone).ok_or_else(|| {
            crate::UsageError(format!(
                "'{host}': no interface named '{zone}' here (see `ip link`)"
            ))
        })?,
    };
    Ok(Some((ip, scope)))
}
