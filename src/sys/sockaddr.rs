//! Conversions between libc socket addresses and `std::net` values, shared
//! by the receive paths. Private to `sys`.

/// A `sockaddr_storage` holding an IPv4 or IPv6 address, as a Rust value:
/// the same value `UdpSocket::recv_from` gives (IPv6 flow info and scope id
/// included), so the two compare equal.
pub(super) fn socket_addr_of(ss: &libc::sockaddr_storage) -> Option<std::net::SocketAddr> {
    match i32::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin = unsafe {
                std::ptr::read_unaligned(
                    (ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>(),
                )
            };
            Some(std::net::SocketAddr::from((
                sin.sin_addr.s_addr.to_ne_bytes(),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 = unsafe {
                std::ptr::read_unaligned(
                    (ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>(),
                )
            };
            Some(std::net::SocketAddr::V6(std::net::SocketAddrV6::new(
                sin6.sin6_addr.s6_addr.into(),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}
