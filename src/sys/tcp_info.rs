//! `TCP_INFO`: the kernel's view of one TCP connection (state, RTT,
//! retransmits, window), copied into a plain serializable [`TcpInfo`].

use std::io;

/// The fields of the kernel's `struct tcp_info` that nettool shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TcpInfo {
    /// Kernel TCP state number (1 = ESTABLISHED ...).
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
pub fn tcp_info(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<TcpInfo> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: tcp_info is plain old data; zero is a valid value.
    let mut ti: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `ti`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut ti as *mut libc::tcp_info).cast(),
            &mut len,
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
