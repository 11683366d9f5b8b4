//! `AF_PACKET` for ARP: the raw socket with its classic BPF filter (only
//! ARP frames, cut to [`ARP_SNAP_LEN`] bytes) and its drop counter.
//!
//! Invariant: the filter is attached before the socket is bound, so no
//! other traffic is ever copied to us. Callers get a plain fd (pnet takes
//! ownership) and plain numbers; the BPF program and `tpacket_stats` stay
//! here.

use std::io;

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

/// The bytes of each frame [`arp_packet_socket`] passes: the Ethernet
/// header and the ARP packet (42) with room to spare.
pub const ARP_SNAP_LEN: usize = 64;

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
