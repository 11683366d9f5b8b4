//! The network namespaces a `sockstat --watch` follows, each with the two
//! `sock_diag` sockets it needs there: a [`DestroyWatch`] and a [`Dumper`].
//!
//! A netlink socket belongs to the namespace of the thread that opened it,
//! so each namespace is entered once (through [`netns::scan`]'s workers,
//! which `setns` there and come back) to open its pair; from then on the
//! watch loop dumps and drains them from its own thread without entering
//! any namespace again. One receive buffer serves every socket in turn.
//!
//! Without `-N`/`--all-netns` it is the caller's own namespace, opened in
//! place, and events name no namespace. With `--all-netns`, [`Watched::refresh`]
//! runs discovery again every [`REDISCOVER`]: namespaces made since are
//! opened (their sockets are `new` at the next dump; a socket that lived
//! and died before that is not seen), and namespaces no process or name holds
//! any more are dropped, after a last drain: the dump no longer lists their
//! sockets, so the diff reports each `gone` once. Dropping also closes our
//! sockets there, which alone would keep a deleted namespace alive.
//! Cost: one dump per namespace each interval, each walking the kernel's
//! host-wide TCP hash, one after another on the watch's thread.
//! Invariants: memory is one pair of descriptors and one [`Netns`] per
//! namespace present (plus the dropped ones' names until their sockets are
//! reported gone); nothing grows with the number of events.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Tables;
use super::error::Error;
use super::model::Socket;
use super::netlink::{DestroyWatch, Destroyed, Dumper};
use super::netns::{self, Netns, Scope};
use crate::sys::errno::{EACCES, EPERM};
use crate::sys::netlink::RECV_BUF_LEN;
use crate::sys::poll::{POLLIN, PollFd, poll_many};

/// How often `--all-netns` looks for namespaces made or gone meanwhile.
pub const REDISCOVER: Duration = Duration::from_secs(2);

/// One namespace being watched.
#[derive(Debug)]
struct One {
    /// Its inode; 0 for the caller's own without `-N`/`--all-netns`.
    inode: u64,
    destroys: DestroyWatch,
    dumper: Dumper,
}

/// Every namespace a watch follows, and what each is called.
#[derive(Debug)]
pub struct Watched {
    tables: Tables,
    all: bool,
    ones: Vec<One>,
    /// What events name each namespace by inode (empty without
    /// `-N`/`--all-netns`); dropped namespaces stay until [`Watched::forget`].
    names: HashMap<u64, Arc<Netns>>,
    /// Dropped namespaces whose names are still kept.
    departed: HashSet<u64>,
    /// `--all-netns`: every namespace discovery offered that was tried
    /// (watched, refused, vanished), so that none is tried twice while it
    /// exists.
    tried: HashSet<u64>,
    last_discovery: Instant,
    buf: Vec<u8>,
}

/// A destroy-group error: `EPERM`/`EACCES` is the kernel keeping the groups
/// to `CAP_NET_ADMIN` (before Linux 6.18).
fn destroy_error(e: io::Error) -> Error {
    if matches!(e.raw_os_error(), Some(EPERM | EACCES)) {
        Error::WatchNeedsAdmin
    } else {
        Error::Netlink {
            table: "sock_diag destroy groups",
            source: e,
        }
    }
}

/// Open the pair of sockets in the calling thread's namespace.
fn open_here(t: Tables) -> Result<(DestroyWatch, Dumper), Error> {
    let destroys = DestroyWatch::open(t).map_err(destroy_error)?;
    let dumper = Dumper::open().map_err(|source| Error::Netlink {
        table: "sock_diag",
        source,
    })?;
    Ok((destroys, dumper))
}

impl Watched {
    /// Open the sockets of every namespace `scope` names (`proc_root` finds
    /// them); notes on namespaces that could not be entered go to `warn`.
    ///
    /// # Errors
    /// [`Error::WatchNeedsAdmin`] when the kernel keeps the destroy groups
    /// to `CAP_NET_ADMIN`; for `-N`, a namespace that cannot be resolved or
    /// entered; [`Error::Netlink`] when a socket cannot be opened.
    pub fn open(
        scope: &Scope,
        proc_root: &Path,
        t: Tables,
        warn: &mut dyn FnMut(String),
    ) -> Result<Watched, Error> {
        let mut w = Watched {
            tables: t,
            all: *scope == Scope::All,
            ones: Vec::new(),
            names: HashMap::new(),
            departed: HashSet::new(),
            tried: HashSet::new(),
            last_discovery: Instant::now(),
            buf: vec![0u8; RECV_BUF_LEN],
        };
        if *scope == Scope::Own {
            let (destroys, dumper) = open_here(t)?;
            w.ones.push(One {
                inode: 0,
                destroys,
                dumper,
            });
            return Ok(w);
        }
        let work = |_: &mut dyn FnMut(String)| open_here(t);
        let opened = if w.all {
            let d = netns::discover(proc_root)?;
            // Those not entered too: discovery offers them again.
            w.tried = d.candidates.iter().map(|c| c.netns.inode).collect();
            netns::scan_candidates(d.candidates, d.unreadable, &work, warn)?
        } else {
            netns::scan(scope, proc_root, &work, warn)?
        };
        w.add(opened);
        Ok(w)
    }

    fn add(&mut self, opened: Vec<(Netns, (DestroyWatch, Dumper))>) {
        for (ns, (destroys, dumper)) in opened {
            self.tried.insert(ns.inode);
            self.departed.remove(&ns.inode);
            self.ones.push(One {
                inode: ns.inode,
                destroys,
                dumper,
            });
            self.names.insert(ns.inode, Arc::new(ns));
        }
    }

    /// What events about sockets of namespace `inode` call it.
    pub fn name(&self, inode: u64) -> Option<Arc<Netns>> {
        self.names.get(&inode).cloned()
    }

    /// Wait up to `timeout` for a destroy notification in any namespace,
    /// or for `input` (the live view's keys) to be ready; whether `input`
    /// is.
    ///
    /// # Errors
    /// What `poll` failed with (`Interrupted` for a caught SIGINT/SIGTERM).
    pub fn wait(&self, input: Option<BorrowedFd<'_>>, timeout: Duration) -> io::Result<bool> {
        let mut fds: Vec<PollFd<'_>> = self
            .ones
            .iter()
            .map(|o| PollFd::new(o.destroys.as_fd(), POLLIN))
            .collect();
        if let Some(fd) = input {
            fds.push(PollFd::new(fd, POLLIN));
        }
        if fds.is_empty() {
            std::thread::sleep(timeout);
            return Ok(false);
        }
        poll_many(&mut fds, Some(timeout))?;
        Ok(input.is_some() && fds.last().is_some_and(|f| f.revents() != 0))
    }

    /// Hand every destroy notification queued now to `on_destroyed`, with
    /// its namespace's inode; returns how many times the kernel said it
    /// dropped some.
    ///
    /// # Errors
    /// What receiving failed with.
    pub fn drain(&mut self, on_destroyed: &mut dyn FnMut(u64, Destroyed)) -> io::Result<u64> {
        let mut overruns = 0;
        for o in &self.ones {
            overruns += o
                .destroys
                .drain(&mut self.buf, |d| on_destroyed(o.inode, d))?;
        }
        Ok(overruns)
    }

    /// One dump of every namespace watched: each socket with its
    /// namespace's inode and its cookie.
    ///
    /// # Errors
    /// As [`Dumper::cookies`].
    pub fn dump(&mut self, on_socket: &mut dyn FnMut(u64, Socket, u64)) -> Result<(), Error> {
        for o in &self.ones {
            o.dumper.cookies(self.tables, &mut self.buf, |s, cookie| {
                on_socket(o.inode, s, cookie);
            })?;
        }
        Ok(())
    }

    /// `--all-netns`, once every [`REDISCOVER`]: watch the namespaces made
    /// since, drop those gone (their last notifications go to
    /// `on_destroyed` first). Notes on namespaces that could not be
    /// entered or opened go to `warn`; nothing here stops the watch but a
    /// worker that cannot come back to our namespace.
    ///
    /// # Errors
    /// When our own namespace or /proc cannot be read any more, or a
    /// worker cannot return from a namespace.
    pub fn refresh(
        &mut self,
        proc_root: &Path,
        now: Instant,
        on_destroyed: &mut dyn FnMut(u64, Destroyed),
        warn: &mut dyn FnMut(String),
    ) -> Result<u64, Error> {
        if !self.all || now.duration_since(self.last_discovery) < REDISCOVER {
            return Ok(0);
        }
        self.last_discovery = now;
        let d = netns::discover(proc_root)?;
        let present: HashSet<u64> = d.candidates.iter().map(|c| c.netns.inode).collect();
        let mut overruns = 0;
        let mut kept = Vec::with_capacity(self.ones.len());
        for o in std::mem::take(&mut self.ones) {
            if present.contains(&o.inode) {
                kept.push(o);
                continue;
            }
            overruns += o
                .destroys
                .drain(&mut self.buf, |g| on_destroyed(o.inode, g))
                .unwrap_or(0);
            self.departed.insert(o.inode);
        }
        self.ones = kept;
        // An inode comes free with its namespace and may name a new one.
        self.tried.retain(|i| present.contains(i));
        let fresh: Vec<_> = d
            .candidates
            .into_iter()
            .filter(|c| !self.tried.contains(&c.netns.inode))
            .collect();
        self.tried.extend(fresh.iter().map(|c| c.netns.inode));
        if fresh.is_empty() {
            return Ok(overruns);
        }
        let t = self.tables;
        let opened = netns::scan_candidates(
            fresh,
            0,
            &|warn: &mut dyn FnMut(String)| match open_here(t) {
                Ok(pair) => Ok(Some(pair)),
                Err(e) => {
                    warn(format!("note: not watched: {e}"));
                    Ok(None)
                }
            },
            warn,
        )?;
        self.add(
            opened
                .into_iter()
                .filter_map(|(ns, pair)| Some((ns, pair?)))
                .collect(),
        );
        Ok(overruns)
    }

    /// Forget the names of dropped namespaces that `in_use` says no
    /// remembered socket belongs to any more.
    pub fn forget(&mut self, in_use: impl Fn(u64) -> bool) {
        if self.departed.is_empty() {
            return;
        }
        let names = &mut self.names;
        self.departed.retain(|&i| {
            let keep = in_use(i);
            if !keep {
                names.remove(&i);
            }
            keep
        });
    }
}
