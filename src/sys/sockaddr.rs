//! Socket addresses and lengths as the socket calls take them, and back to
//! `std::net` values. Private to `sys`.

/// `size_of::<T>()` as the `socklen_t` the socket calls take.
#[allow(
    clippy::cast_possible_truncation,
    reason = "C structs, far below 4 GiB"
)]
pub(super) const fn socklen<T>() -> libc::socklen_t {
    std::mem::size_of::<T>() as libc::socklen_t
}

/// A `sockaddr_storage` holding an IPv4 or IPv6 address, as a Rust value:
/// the same value `UdpSocket::recv_from` gives (IPv6 flow info and scope id
/// included), so the two compare equal.
pub(super) fn socket_addr_of(ss: &libc::sockaddr_storage) -> Option<std::net::SocketAddr> {
    match i32::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin = unsafe {
                std::ptr::read_unaligned(std::ptr::from_ref(ss).cast::<libc::sockaddr_in>())
            };
            Some(std::net::SocketAddr::from((
                sin.sin_addr.s_addr.to_ne_bytes(),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 = unsafe {
                std::ptr::read_unaligned(std::ptr::from_ref(ss).cast::<libc::sockaddr_in6>())
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
