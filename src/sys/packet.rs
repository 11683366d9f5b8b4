//! `AF_PACKET` for ARP: the raw socket with its classic BPF filter (only
//! ARP frames, cut to [`ARP_SNAP_LEN`] bytes) and its drop counter.
//!
//! Invariant: the filter is attached before the socket is bound, so no
//! other traffic is ever copied to us. Callers get a plain fd (pnet takes
//! ownership) and plain numbers; the BPF program and `tpacket_stats` stay
//! here.

use std::io;

use super::sockaddr::socklen;

/// An `AF_PACKET` raw socket that sees only ARP frames: a classic BPF
/// filter (`ethertype == 0x0806`) is attached before the socket is bound,
/// so no other traffic is ever copied to us, and our own outgoing frames
/// are not looped back (`PACKET_IGNORE_OUTGOING`, Linux 4.20+; older
/// kernels loop them back and the reply validation drops them). Returns
/// the raw fd for pnet's `Config::socket_fd`, which takes ownership.
///
/// # Errors
///
/// `EPERM` without `CAP_NET_RAW`; otherwise what `socket` or attaching the
/// filter failed with (the socket is closed then).
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
    // The kernel cuts what it passes to ARP_SNAP_LEN bytes: an ARP frame
    // is 42 (60 padded), so a forged 1514-byte (or jumbo) frame costs the
    // socket buffer and the reader's queue no more than a real one.
    let mut code = arp_filter();
    let prog = libc::sock_fprog {
        len: FILTER_LEN,
        filter: code.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `code`, both alive for the call; the kernel
    // copies the program.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const prog).cast(),
            socklen::<libc::sock_fprog>(),
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
            (&raw const one).cast(),
            socklen::<libc::c_int>(),
        )
    };
    Ok(fd)
}

/// The bytes of each frame [`arp_packet_socket`] passes: the Ethernet
/// header and the ARP packet (42) with room to spare.
pub const ARP_SNAP_LEN: usize = SNAP_LEN as usize;
const SNAP_LEN: u32 = 64;

/// Classic BPF opcodes (`linux/filter.h`) of [`arp_filter`].
mod bpf {
    /// `BPF_LD | BPF_H | BPF_ABS`: load the 16-bit word at offset k.
    pub const LDH_ABS: u16 = 0x28;
    /// `BPF_JMP | BPF_JEQ | BPF_K`: if it equals k, skip jt, else skip jf.
    pub const JEQ_K: u16 = 0x15;
    /// `BPF_RET | BPF_K`: pass k bytes of the frame (0: drop it).
    pub const RET_K: u16 = 0x06;
}

/// Where the Ethernet header holds the ethertype, and ARP's.
const ETHERTYPE_OFFSET: u32 = 12;
const ETH_P_ARP: u32 = 0x0806;

/// The instructions of [`arp_filter`].
const FILTER_LEN: u16 = 4;

/// `ldh [12]; jeq #0x806, keep, drop; keep: ret #64; drop: ret #0`
fn arp_filter() -> [libc::sock_filter; FILTER_LEN as usize] {
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    [
        op(bpf::LDH_ABS, 0, 0, ETHERTYPE_OFFSET),
        op(bpf::JEQ_K, 0, 1, ETH_P_ARP),
        op(bpf::RET_K, 0, 0, SNAP_LEN),
        op(bpf::RET_K, 0, 0, 0),
    ]
}

/// Frames the kernel dropped on packet socket `fd` because its receive
/// queue was full, since the last call (`PACKET_STATISTICS` resets the
/// counters on each read: the caller keeps the running total).
///
/// # Errors
///
/// What `getsockopt` failed with: `fd` is not a packet socket.
pub fn packet_drops(fd: i32) -> io::Result<u64> {
    let mut st = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = socklen::<libc::tpacket_stats>();
    // SAFETY: `st` and `len` are valid for the call; the kernel writes at
    // most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&raw mut st).cast(),
            &raw mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from(st.tp_drops))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_is_the_classic_arp_program() {
        let raw: Vec<_> = arp_filter()
            .iter()
            .map(|f| (f.code, f.jt, f.jf, f.k))
            .collect();
        assert_eq!(
            raw,
            [
                (0x28, 0, 0, 12),
                (0x15, 0, 1, 0x0806),
                (0x06, 0, 0, 64),
                (0x06, 0, 0, 0)
            ]
        );
        assert_eq!(ARP_SNAP_LEN, 64);
    }
}
