//! The only place with `unsafe` and raw libc calls. Each function is one
//! capability with a safe signature; callers never write `cfg` or `libc`.

pub mod netlink;

use std::ffi::CStr;
use std::io;
use std::net::IpAddr;
use std::os::fd::FromRawFd;

/// Reverse DNS through the system resolver (`getnameinfo`, `NI_NAMEREQD`).
/// Blocks; only called when the user passed `--dns`, from worker threads
/// under a deadline.
pub fn reverse_lookup(ip: IpAddr) -> Option<String> {
    let sa = sockaddr_of(ip);
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    // SAFETY: `sa` is a valid sockaddr of the length passed; `host` is a
    // writable buffer of the length passed; no service buffer is asked for.
    let rc = unsafe {
        libc::getnameinfo(
            (&sa.0 as *const libc::sockaddr_storage).cast(),
            sa.1,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success getnameinfo wrote a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

fn sockaddr_of(ip: IpAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match ip {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage, which is
            // aligned for every sockaddr type.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
            (
                ss,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        IpAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
            (
                ss,
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

/// An `AF_PACKET` raw socket that sees only ARP frames: a classic BPF
/// filter (`ethertype == 0x0806`) is attached before the socket is bound,
/// so no other traffic is ever copied to us, and our own outgoing frames
/// are not looped back (`PACKET_IGNORE_OUTGOING`, Linux 4.20+; older
/// kernels loop them back and the reply validation drops them). Returns
/// the raw fd for pnet's `Config::socket_fd`, which takes ownership.
pub fn arp_packet_socket() -> io::Result<i32> {
    // SAFETY: plain syscall with constant arguments.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            // Protocol 0: the socket sees nothing until pnet binds it to the
            // interface, and the bind does not have to unhook an ETH_P_ALL
            // tap first (that costs a synchronize_net, 10-16 ms).
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // ldh [12]; jeq #0x806, keep, drop; keep: ret #64; drop: ret #0
    // The kernel cuts what it passes to ARP_SNAP_LEN bytes: an ARP frame
    // is 42 (60 padded), so a forged 1514-byte (or jumbo) frame costs the
    // socket buffer and the reader's queue no more than a real one.
    let mut code = [
        libc::sock_filter {
            code: 0x28,
            jt: 0,
            jf: 0,
            k: 12,
        },
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: 0x0806,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: ARP_SNAP_LEN as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0,
        },
    ];
    let prog = libc::sock_fprog {
        len: code.len() as u16,
        filter: code.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `code`, both alive for the call; the kernel
    // copies the program.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&prog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: we own fd and close it once.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    let one: libc::c_int = 1;
    // SAFETY: valid int option; failure (old kernel) is harmless.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    Ok(fd)
}

/// Drop every capability from the effective, permitted and inheritable
/// sets: called right after the raw channel is open, so nothing later runs
/// with CAP_NET_RAW (or anything else). Root's uid stays; a setcap'd
/// binary ends up with no privilege at all.
pub fn drop_capabilities() -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset(2) reads a v3 header and two data structs, which is
    // exactly what we pass; pid 0 means this thread.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Catch SIGINT (Ctrl-C) so a long-running probe can stop and print its
/// summary; [`interrupted`] tells whether it arrived.
pub fn catch_interrupt() {
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Ask the kernel to report ICMP errors (port or host unreachable) on an
/// unconnected UDP socket: the next receive then fails with
/// `ECONNREFUSED` / `EHOSTUNREACH` instead of waiting for a timeout.
pub fn set_recv_errors(fd: std::os::fd::BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let one: libc::c_int = 1;
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    };
    // SAFETY: a valid fd borrowed for the call and an int option.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

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

/// An ICMP (or local) error the kernel queued on a socket with
/// IP_RECVERR / IPV6_RECVERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedError {
    /// The errno it stands for.
    pub errno: i32,
    /// `SO_EE_ORIGIN_*`: 1 local, 2 ICMP, 3 ICMPv6.
    pub origin: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// Who sent the ICMP message (a router, or the host itself).
    pub offender: Option<IpAddr>,
    /// Where the packet that caused it was going.
    pub dest: Option<std::net::SocketAddr>,
}

/// A `sockaddr_storage` holding an IPv4 or IPv6 address, as a Rust value:
/// the same value `UdpSocket::recv_from` gives (IPv6 flow info and scope id
/// included), so the two compare equal.
fn socket_addr_of(ss: &libc::sockaddr_storage) -> Option<std::net::SocketAddr> {
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

/// How often the kernel has preempted the calling thread (involuntary
/// context switches, from `getrusage(RUSAGE_THREAD)`).
pub fn involuntary_switches() -> u64 {
    // SAFETY: plain old data; zero is valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is ours and the right type for the call.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } != 0 {
        return 0;
    }
    u64::try_from(ru.ru_nivcsw).unwrap_or(0)
}

/// How many CPUs are online (not just ours to run on).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// Receive one datagram if one is queued, without waiting: `Ok(None)` when
/// the queue is empty.
pub fn recv_from_now(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<Option<(usize, std::net::SocketAddr)>> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: plain old data; zero is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `buf` and `ss` are ours and live across the call; the kernel
    // writes at most `buf.len()` and `len` bytes into them.
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::WouldBlock => Ok(None),
            _ => Err(e),
        };
    }
    let from = socket_addr_of(&ss)
        .ok_or_else(|| io::Error::other("datagram from an unknown address family"))?;
    Ok(Some((n as usize, from)))
}

/// Take the oldest entry of a socket's error queue (`MSG_ERRQUEUE`), if
/// any. Never blocks.
pub fn take_queued_error(fd: std::os::fd::BorrowedFd<'_>) -> Option<QueuedError> {
    use std::os::fd::AsRawFd as _;
    let mut data = [0u8; 256];
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: plain old data; zero is valid.
    let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    // SAFETY: msghdr is plain old data; zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: every pointer in `msg` points at buffers we own for the call.
    let rc = unsafe {
        libc::recvmsg(
            fd.as_raw_fd(),
            &mut msg,
            libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        )
    };
    if rc < 0 {
        return None;
    }
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled,
    // bounded by msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            let is_err = (c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_RECVERR)
                || (c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_RECVERR);
            if is_err {
                let ee = libc::CMSG_DATA(cmsg) as *const libc::sock_extended_err;
                let e = std::ptr::read_unaligned(ee);
                let off = libc::SO_EE_OFFENDER(ee) as *const libc::sockaddr;
                let offender = match i32::from(std::ptr::read_unaligned(&(*off).sa_family)) {
                    libc::AF_INET => {
                        let sin = std::ptr::read_unaligned(off as *const libc::sockaddr_in);
                        Some(IpAddr::from(sin.sin_addr.s_addr.to_ne_bytes()))
                    }
                    libc::AF_INET6 => {
                        let sin6 = std::ptr::read_unaligned(off as *const libc::sockaddr_in6);
                        Some(IpAddr::from(sin6.sin6_addr.s6_addr))
                    }
                    _ => None,
                };
                return Some(QueuedError {
                    errno: e.ee_errno as i32,
                    origin: e.ee_origin,
                    icmp_type: e.ee_type,
                    icmp_code: e.ee_code,
                    offender,
                    dest: socket_addr_of(&name),
                });
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    None
}

/// `poll` one descriptor; returns the revents (0 on timeout).
pub fn poll_one(
    fd: std::os::fd::BorrowedFd<'_>,
    events: i16,
    timeout: Option<std::time::Duration>,
) -> io::Result<i16> {
    use std::os::fd::AsRawFd as _;
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    let ms = timeout.map_or(-1, |t| {
        // Round up so a sub-millisecond wait does not spin at 0.
        i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    loop {
        // SAFETY: one valid pollfd for the call.
        let rc = unsafe { libc::poll(&mut p, 1, ms) };
        if rc >= 0 {
            return Ok(if rc == 0 { 0 } else { p.revents });
        }
        let e = io::Error::last_os_error();
        // A signal: give up the wait when it was Ctrl-C, so callers can
        // stop and report; otherwise wait on.
        if e.kind() != io::ErrorKind::Interrupted || interrupted() {
            return Err(e);
        }
    }
}

/// Call `f(fd, link)` for every entry of a `/proc/PID/fd` directory, with
/// one `getdents64` per batch and one `readlinkat` per entry on the same
/// directory descriptor: no allocation per descriptor. Entries that vanish
/// meanwhile are skipped.
pub fn for_each_fd_link(dir: &std::path::Path, mut f: impl FnMut(u32, &[u8])) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: a NUL-terminated path and constant flags.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: we own `fd` from here on; OwnedFd closes it once.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let mut buf = vec![0u8; 32 * 1024];
    let mut link = [0u8; 64];
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            break;
        }
        let mut off = 0usize;
        let n = n as usize;
        // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen;
        // u8 d_type; char d_name[]; }
        while off + 19 <= n {
            let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
            if reclen == 0 || off + reclen > n {
                break;
            }
            let name_bytes = &buf[off + 19..off + reclen];
            let name_len = name_bytes
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(name_bytes.len());
            let name = &name_bytes[..name_len];
            let fd_num = std::str::from_utf8(name)
                .ok()
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(num) = fd_num {
                // SAFETY: `name` is followed by its NUL inside `buf` (the
                // kernel terminates d_name); `link` is ours to write.
                let r = unsafe {
                    libc::readlinkat(
                        fd,
                        name_bytes.as_ptr().cast(),
                        link.as_mut_ptr().cast(),
                        link.len(),
                    )
                };
                if r > 0 {
                    f(num, &link[..r as usize]);
                }
            }
            off += reclen;
        }
    }
    drop(owned);
    Ok(())
}

/// Receiving many datagrams in one system call (`recvmmsg`), without
/// waiting; the headers are kept from one call to the next.
pub struct RecvMany {
    addrs: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

impl RecvMany {
    /// Up to `n` datagrams a call.
    pub fn new(n: usize) -> Self {
        // SAFETY: plain old data; zero is valid for all three.
        let zero = || unsafe { std::mem::zeroed() };
        RecvMany {
            addrs: (0..n).map(|_| zero()).collect(),
            iovs: (0..n)
                .map(|_| libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                })
                .collect(),
            // SAFETY: as above.
            msgs: (0..n).map(|_| unsafe { std::mem::zeroed() }).collect(),
        }
    }

    /// Take every datagram already queued, up to `buf.len() / slot` (and
    /// `n`) of them: datagram `i` lands in `buf[i * slot..]`, and `out`
    /// gets its length (its full length: more than `slot` means the rest
    /// was cut off) and its sender. `Ok(0)` when none is queued.
    pub fn recv_now(
        &mut self,
        fd: std::os::fd::BorrowedFd<'_>,
        buf: &mut [u8],
        slot: usize,
        out: &mut Vec<(usize, std::net::SocketAddr)>,
    ) -> io::Result<usize> {
        use std::os::fd::AsRawFd as _;
        out.clear();
        if slot == 0 {
            return Ok(0);
        }
        let n = (buf.len() / slot).min(self.msgs.len());
        if n == 0 {
            return Ok(0);
        }
        let (iovs, addrs) = (self.iovs.as_mut_ptr(), self.addrs.as_mut_ptr());
        for (i, (chunk, m)) in buf
            .chunks_exact_mut(slot)
            .zip(&mut self.msgs)
            .enumerate()
            .take(n)
        {
            // SAFETY: i < n <= the length of `self.iovs` and `self.addrs`.
            let (iov, addr) = unsafe { (iovs.add(i), addrs.add(i)) };
            // SAFETY: `iov` points to a live element of `self.iovs`.
            unsafe {
                iov.write(libc::iovec {
                    iov_base: chunk.as_mut_ptr().cast(),
                    iov_len: chunk.len(),
                });
            }
            m.msg_hdr.msg_name = addr.cast();
            m.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = std::ptr::null_mut();
            m.msg_hdr.msg_controllen = 0;
            m.msg_hdr.msg_flags = 0;
            m.msg_len = 0;
        }
        // SAFETY: the first `n` headers point into `buf`, `self.iovs` and
        // `self.addrs`, all alive and unmoved for the call; the kernel
        // writes within the lengths given.
        let got = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                self.msgs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                std::ptr::null_mut(),
            )
        };
        if got < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(0),
                _ => Err(e),
            };
        }
        let got = got as usize;
        for (m, addr) in self.msgs.iter().zip(&self.addrs).take(got) {
            let from = socket_addr_of(addr)
                .ok_or_else(|| io::Error::other("datagram from an unknown address family"))?;
            out.push((m.msg_len as usize, from));
        }
        Ok(got)
    }
}

/// Let this thread's timers end when asked: the kernel otherwise lets a
/// sleep run up to 50 us late (the default timer slack), to batch
/// wake-ups. Best effort.
pub fn precise_timers() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer, in nanoseconds.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0);
    }
}

/// errno values callers outside `sys` match on, so they need not name libc.
pub mod errno {
    pub use libc::{EADDRNOTAVAIL, ECONNABORTED, EMFILE, ENFILE, ENOBUFS, ENODEV, ENOMEM};
}

/// The signal that asked us to stop (SIGINT or SIGTERM), 0 for none.
static TERMINATION: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_termination(signal: libc::c_int) {
    TERMINATION.store(signal, std::sync::atomic::Ordering::Relaxed);
}

/// Catch SIGINT and SIGTERM so a transfer can clean up, tell its peer and
/// exit 128 + the signal; [`termination`] tells which came. Without
/// `SA_RESTART`, so a blocking receive or write returns `EINTR` at once.
pub fn catch_termination() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to
        // an atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_termination as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(signal, &sa, std::ptr::null_mut())
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The signal [`catch_termination`] caught, if one came.
#[inline]
pub fn termination() -> Option<i32> {
    match TERMINATION.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// The name of signal `n`, e.g. `SIGINT`.
pub fn signal_name(n: i32) -> String {
    match n {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

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

/// Frames the kernel dropped on packet socket `fd` because its receive
/// queue was full, since the last call (`PACKET_STATISTICS` resets the
/// counters on each read: the caller keeps the running total).
pub fn packet_drops(fd: i32) -> io::Result<u64> {
    let mut st = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: `st` and `len` are valid for the call; the kernel writes at
    // most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut st as *mut libc::tpacket_stats).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from(st.tp_drops))
}

/// The bytes of each frame [`arp_packet_socket`] passes: the Ethernet
/// header and the ARP packet (42) with room to spare.
pub const ARP_SNAP_LEN: usize = 64;

/// Like `on_termination`, and wakes whatever call the signal missed: one
/// that came between a check of [`termination`] and a blocking call
/// (a receive, a read from a pipe, a write to one) would otherwise wait
/// for that call to return. An alarm a second later interrupts it.
extern "C" fn on_termination_waking(signal: libc::c_int) {
    TERMINATION.store(signal, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: alarm is async-signal-safe.
    unsafe {
        libc::alarm(1);
    }
}

/// The wake-up alarm: interrupts the blocked call (no `SA_RESTART`), and
/// comes again in a second in case this one fell between a check and a
/// call too.
extern "C" fn on_wake_alarm(_: libc::c_int) {
    if TERMINATION.load(std::sync::atomic::Ordering::Relaxed) != 0 {
        // SAFETY: alarm is async-signal-safe.
        unsafe {
            libc::alarm(1);
        }
    }
}

fn set_handler(signal: libc::c_int, handler: libc::sighandler_t) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is valid; every handler passed here only
    // touches atomics and calls async-signal-safe functions (or is
    // SIG_DFL / SIG_IGN). No SA_RESTART: blocked calls return EINTR.
    let rc = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(signal, &sa, std::ptr::null_mut())
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// While alive, SIGINT and SIGTERM are caught as by [`catch_termination`]
/// (see [`termination`]), and a call blocked when one came is interrupted
/// within a second even if the signal missed it. Dropped, the default
/// dispositions are back (a later blocked write ends at Ctrl-C).
#[must_use = "dropping it restores the default dispositions"]
pub struct TerminationWatch(());

/// Start a [`TerminationWatch`].
pub fn watch_termination() -> io::Result<TerminationWatch> {
    set_handler(
        libc::SIGALRM,
        on_wake_alarm as *const () as libc::sighandler_t,
    )?;
    let watch = TerminationWatch(());
    for signal in [libc::SIGINT, libc::SIGTERM] {
        set_handler(
            signal,
            on_termination_waking as *const () as libc::sighandler_t,
        )?;
    }
    Ok(watch)
}

impl Drop for TerminationWatch {
    fn drop(&mut self) {
        let _ = set_handler(libc::SIGINT, libc::SIG_DFL);
        let _ = set_handler(libc::SIGTERM, libc::SIG_DFL);
        // A pending alarm must not kill us once SIGALRM is back to its
        // default: ignore it, cancel it, then restore the default.
        let _ = set_handler(libc::SIGALRM, libc::SIG_IGN);
        // SAFETY: alarm(0) only cancels a pending alarm.
        unsafe {
            libc::alarm(0);
        }
        let _ = set_handler(libc::SIGALRM, libc::SIG_DFL);
    }
}

/// Open `path` for reading without waiting: a FIFO opens at once instead
/// of waiting for a writer, so the caller can look at what it opened
/// (`fstat`) before reading. Regular files read as usual.
pub fn open_read_nonblocking(path: &std::path::Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}
