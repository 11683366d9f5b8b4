//! errno values callers outside `sys` match on (`io::Error::raw_os_error`)
//! or build errors from, so they need not name libc.

pub use libc::{
    EACCES, EADDRINUSE, EADDRNOTAVAIL, EAGAIN, ECONNABORTED, ECONNREFUSED, ECONNRESET,
    EHOSTUNREACH, EINPROGRESS, EINVAL, EIO, EMFILE, ENETUNREACH, ENFILE, ENOBUFS, ENODEV, ENOENT,
    ENOMEM, ENOTCONN, EOPNOTSUPP, EPERM, EPIPE, ESTALE, ETIMEDOUT,
};
