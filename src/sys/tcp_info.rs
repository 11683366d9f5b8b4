//! `TCP_INFO`: the kernel's view of one TCP connection (state, RTT,
//! retransmits, window), copied into a plain serializable [`TcpInfo`].

use std::io;

use super::sockaddr::socklen;

/// The fields of the kernel's `struct tcp_info` that nettool shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TcpInfo {
    /// Kernel TCP state number (1 = `ESTABLISHED` ...).
    pub state: u8,
    /// Unrecovered retransmits of the current segment (SYN retries while
    /// connecting).
    pub retransmits: u8,
    /// Unanswered zero-window or keepalive probes.
    pub probes: u8,
    pub backoff: u8,
    /// Microseconds.
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub rto_us: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub snd_cwnd: u32,
    pub total_retrans: u32,
    pub unacked: u32,
}

/// `getsockopt(TCP_INFO)`.
///
/// # Errors
///
/// What `getsockopt` failed with: `fd` is not a TCP socket.
pub fn tcp_info(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<TcpInfo> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: tcp_info is plain old data; zero is a valid value.
    let mut ti: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = socklen::<libc::tcp_info>();
    // SAFETY: the kernel writes at most `len` bytes into `ti`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut ti).cast(),
            &raw mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(TcpInfo {
        state: ti.tcpi_state,
        retransmits: ti.tcpi_retransmits,
        probes: ti.tcpi_probes,
        backoff: ti.tcpi_backoff,
        rtt_us: ti.tcpi_rtt,
        rttvar_us: ti.tcpi_rttvar,
        rto_us: ti.tcpi_rto,
        snd_mss: ti.tcpi_snd_mss,
        rcv_mss: ti.tcpi_rcv_mss,
        snd_cwnd: ti.tcpi_snd_cwnd,
        total_retrans: ti.tcpi_total_retrans,
        unacked: ti.tcpi_unacked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream, UdpSocket};
    use std::os::fd::AsFd as _;

    #[test]
    fn a_connected_loopback_socket_is_established_with_an_mss() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let ti = tcp_info(c.as_fd()).unwrap();
        assert_eq!(ti.state, 1, "ESTABLISHED");
        assert!(ti.snd_mss > 0);
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(tcp_info(udp.as_fd()).is_err());
    }
}
