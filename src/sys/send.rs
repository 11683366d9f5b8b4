//! Sending many datagrams in one system call (`sendmmsg`): a window of
//! TFTP blocks leaves in one call instead of one `sendto` each.
//!
//! Invariants: the kernel only reads the caller's packets and addresses;
//! every packet is handed over in order, or the error says where it
//! stopped (the count of packets sent before it).

use std::io;
use std::net::SocketAddr;

/// At most this many datagrams per call (the kernel's `UIO_MAXIOV`).
const MAX_BATCH: usize = 1024;

/// Send each `(to, bytes)` of `packets` on `fd`, in order. Returns how
/// many went out: all of them, unless an error came after some did (then
/// the count; an error before any is the error).
///
/// # Errors
/// What `sendmmsg` failed with before sending anything.
pub fn send_many<B: AsRef<[u8]>>(
    fd: std::os::fd::BorrowedFd<'_>,
    packets: &[(SocketAddr, B)],
) -> io::Result<usize> {
    use std::os::fd::AsRawFd as _;
    let mut sent = 0;
    for chunk in packets.chunks(MAX_BATCH) {
        let addrs: Vec<socket2::SockAddr> = chunk.iter().map(|(to, _)| (*to).into()).collect();
        let mut iovs: Vec<libc::iovec> = chunk
            .iter()
            .map(|(_, bytes)| libc::iovec {
                iov_base: bytes.as_ref().as_ptr().cast_mut().cast(),
                iov_len: bytes.as_ref().len(),
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = addrs
            .iter()
            .zip(iovs.iter_mut())
            .map(|(a, iov)| {
                // SAFETY: all-zero is a valid msghdr (null pointers, no
                // control data, no flags).
                let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
                hdr.msg_name = a.as_ptr().cast_mut().cast();
                hdr.msg_namelen = a.len();
                hdr.msg_iov = std::ptr::from_mut(iov);
                hdr.msg_iovlen = 1;
                libc::mmsghdr {
                    msg_hdr: hdr,
                    msg_len: 0,
                }
            })
            .collect();
        let mut done = 0;
        while done < msgs.len() {
            let left = u32::try_from(msgs.len() - done).unwrap_or(u32::MAX);
            // SAFETY: `msgs[done..]` are valid headers whose names and
            // buffers (`addrs`, `iovs`, the packets) outlive the call; the
            // kernel only reads them and writes `msg_len`.
            let rc = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    msgs[done..].as_mut_ptr(),
                    left,
                    libc::MSG_NOSIGNAL,
                )
            };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted && super::signal::termination().is_none()
                {
                    continue;
                }
                return if sent + done == 0 {
                    Err(e)
                } else {
                    Ok(sent + done)
                };
            }
            #[allow(clippy::cast_sign_loss, reason = "rc >= 0: checked above")]
            let n = rc as usize;
            done += n;
        }
        sent += done;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsFd as _;

    #[test]
    fn a_batch_arrives_in_order_at_each_address() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let packets = vec![
            (aa, b"one".to_vec()),
            (ba, b"two".to_vec()),
            (aa, vec![7u8; 1468]),
        ];
        assert_eq!(send_many(tx.as_fd(), &packets).unwrap(), 3);
        let mut buf = [0u8; 2048];
        let (n, _) = a.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"one");
        let (n, _) = a.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[7u8; 1468][..]);
        let (n, _) = b.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"two");
        assert_eq!(send_many::<Vec<u8>>(tx.as_fd(), &[]).unwrap(), 0);
    }
}
