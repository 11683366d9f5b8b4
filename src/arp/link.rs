//! The datalink channel: send Ethernet frames, receive ARP (or NDP) frames
//! with the time they were read. `PnetLink` is the real one (pnet's
//! datalink channel over an `AF_PACKET` socket that sees only those); tests
//! can drive the probe logic without it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pnet_datalink::{Channel, Config, DataLinkSender, NetworkInterface};

use super::ArpError;
use crate::sys::Frames;
use crate::sys::errno::{EACCES, ENOBUFS, EPERM};

pub trait Link {
    /// Send one frame; returns the time just before it was handed to the
    /// kernel.
    ///
    /// # Errors
    /// The kernel refusing the frame (a full transmit queue is waited out
    /// first).
    fn send(&mut self, frame: &[u8]) -> io::Result<Instant>;
    /// The next received frame and when it was read, or `None` at `until`.
    ///
    /// # Errors
    /// The socket failing: the reader has stopped.
    fn recv(&mut self, until: Instant) -> io::Result<Option<(Vec<u8>, Instant)>>;
    /// Frames received but dropped unread so far (a flood faster than we
    /// read), by the kernel and by our own queue.
    fn drops(&mut self) -> Drops {
        Drops::default()
    }
}

/// Frames dropped unread, and where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Drops {
    /// By the kernel: the socket's receive queue was full.
    pub kernel: u64,
    /// By nettool: the queue between the reader thread and the caller
    /// was full.
    pub queue: u64,
}

impl Drops {
    pub fn total(self) -> u64 {
        self.kernel.saturating_add(self.queue)
    }
}

/// Frames the reader thread holds for the prober at most. ARP answers come
/// at the rate we ask (2000/s in a default sweep, a few in a probe), so a
/// full queue means a flood: what does not fit is dropped and counted. The
/// kernel passes at most [`crate::sys::ARP_SNAP_LEN`] bytes of an ARP
/// frame and [`crate::sys::NDP_SNAP_LEN`] of an NDP one, so memory stays
/// at this many frames of those sizes whatever a peer sends.
pub const QUEUE_FRAMES: usize = 4096;

type Received = io::Result<(Vec<u8>, Instant)>;

/// pnet's channel, with a reader thread that timestamps frames the moment
/// `recv` returns them, so the RTT does not include our own processing.
/// The queue between them holds [`QUEUE_FRAMES`]; what overflows is
/// dropped and counted ([`Link::drops`]).
pub struct PnetLink {
    tx: Box<dyn DataLinkSender>,
    rx: mpsc::Receiver<Received>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    /// The packet socket (owned by pnet's channel, open while `tx` is), for
    /// the kernel's drop count.
    fd: i32,
    /// Kernel drops read so far: each read resets the kernel's count.
    kernel_drops: u64,
}

impl PnetLink {
    /// Open the channel: promiscuous mode off, a read timeout so nothing
    /// ever blocks forever. This is the only step that needs `CAP_NET_RAW`.
    ///
    /// # Errors
    /// [`ArpError::NoPrivilege`] without `CAP_NET_RAW`, else
    /// [`ArpError::Channel`].
    pub fn open(iface: &NetworkInterface) -> Result<PnetLink, ArpError> {
        Self::open_for(iface, Frames::Arp)
    }

    /// [`open`](Self::open) for `frames`: ARP, NDP (IPv6 neighbours) or
    /// both (a watch).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_for(iface: &NetworkInterface, frames: Frames) -> Result<PnetLink, ArpError> {
        let fd = crate::sys::packet_socket(frames).map_err(|e| open_error(iface, e))?;
        let snap = match frames {
            Frames::Arp => crate::sys::ARP_SNAP_LEN,
            Frames::Ndp | Frames::ArpAndNdp | Frames::EchoReply6 => crate::sys::NDP_SNAP_LEN,
        };
        let config = Config {
            read_timeout: Some(Duration::from_millis(50)),
            write_timeout: Some(Duration::from_secs(1)),
            promiscuous: false,
            socket_fd: Some(fd),
            // The kernel passes no more than this (the BPF filter cuts).
            read_buffer_size: snap,
            ..Config::default()
        };
        let (tx, mut rx) = match pnet_datalink::channel(iface, config) {
            Ok(Channel::Ethernet(tx, rx)) => (tx, rx),
            Ok(_) => {
                return Err(ArpError::Channel {
                    iface: iface.name.clone(),
                    source: io::Error::other("not an Ethernet channel"),
                });
            }
            Err(e) => return Err(open_error(iface, e)),
        };
        // Nothing after this point needs privilege. The reader thread is
        // spawned after the drop, so it inherits the empty sets too.
        crate::sys::drop_capabilities().map_err(|source| ArpError::Channel {
            iface: iface.name.clone(),
            source,
        })?;
        let (send, recv) = mpsc::sync_channel(QUEUE_FRAMES);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let dropped = Arc::new(AtomicU64::new(0));
        let drops = dropped.clone();
        let (ready, running) = mpsc::sync_channel::<()>(1);
        std::thread::spawn(move || {
            let _ = ready.send(());
            while !stopped.load(Ordering::Relaxed) {
                let item = match rx.next() {
                    // At most the snap length: the kernel cut the rest.
                    Ok(frame) => Ok((frame.to_vec(), Instant::now())),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::TimedOut
                                | io::ErrorKind::WouldBlock
                                | io::ErrorKind::Interrupted
                        ) =>
                    {
                        continue;
                    }
                    Err(e) => Err(e),
                };
                if !offer(&send, item, &drops) {
                    break;
                }
            }
        });
        // The first request waits for the reader: a reply that came before
        // the thread ran would be stamped when the thread got to it, and a
        // one-shot probe's RTT would be the thread's start-up.
        let _ = running.recv();
        Ok(PnetLink {
            tx,
            rx: recv,
            stop,
            dropped,
            fd,
            kernel_drops: 0,
        })
    }
}

/// Hand one item to the prober without ever waiting for room: a frame that
/// finds the queue full is dropped and counted. An error is the last item,
/// so it does wait for room. False when the reader should stop.
fn offer(send: &mpsc::SyncSender<Received>, item: Received, drops: &AtomicU64) -> bool {
    if item.is_err() {
        let _ = send.send(item);
        return false;
    }
    match send.try_send(item) {
        Ok(()) => true,
        Err(mpsc::TrySendError::Full(_)) => {
            drops.fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(mpsc::TrySendError::Disconnected(_)) => false,
    }
}

/// The setup error for a packet socket on `iface` that failed with `e`.
pub(crate) fn open_error(iface: &NetworkInterface, e: io::Error) -> ArpError {
    match e.raw_os_error() {
        Some(EPERM | EACCES) => ArpError::NoPrivilege,
        _ => ArpError::Channel {
            iface: iface.name.clone(),
            source: e,
        },
    }
}

impl Drop for PnetLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Link for PnetLink {
    fn send(&mut self, frame: &[u8]) -> io::Result<Instant> {
        // Stamp before the syscall: on a veth the reply can arrive (and be
        // stamped by the reader thread) before send_to returns.
        // A full transmit queue (ENOBUFS) at high rates is worth a short
        // wait and another go, as arp-scan does, not the end of the sweep.
        for _ in 0..20 {
            let at = Instant::now();
            match self.tx.send_to(frame, None) {
                Some(Ok(())) => return Ok(at),
                Some(Err(e)) if e.raw_os_error() == Some(ENOBUFS) => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Some(Err(e)) => return Err(e),
                None => return Err(io::Error::other("frame too large for the send buffer")),
            }
        }
        Err(io::Error::from_raw_os_error(ENOBUFS))
    }

    fn recv(&mut self, until: Instant) -> io::Result<Option<(Vec<u8>, Instant)>> {
        let wait = until.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(wait) {
            Ok(Ok(item)) => Ok(Some(item)),
            Ok(Err(e)) => Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(io::Error::other("the receive thread stopped"))
            }
        }
    }

    fn drops(&mut self) -> Drops {
        // A failed read leaves the total as it was: the count is a report,
        // not worth failing the run for.
        if let Ok(n) = crate::sys::packet_drops(self.fd) {
            self.kernel_drops = self.kernel_drops.saturating_add(n);
        }
        Drops {
            kernel: self.kernel_drops,
            queue: self.dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_growing() {
        let (send, recv) = mpsc::sync_channel(2);
        let drops = AtomicU64::new(0);
        let now = Instant::now();
        for i in 0..5u8 {
            assert!(offer(&send, Ok((vec![i], now)), &drops));
        }
        assert_eq!(drops.load(Ordering::Relaxed), 3);
        let got: Vec<Vec<u8>> = recv.try_iter().map(|r| r.unwrap().0).collect();
        assert_eq!(got, [vec![0], vec![1]]);
        // Room again: frames flow; an error ends the reader.
        assert!(offer(&send, Ok((vec![9], now)), &drops));
        assert!(!offer(&send, Err(io::Error::other("gone")), &drops));
        drop(recv);
        assert!(!offer(&send, Ok((vec![1], now)), &drops));
    }
}
