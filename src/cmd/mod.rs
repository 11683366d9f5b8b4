//! One module per subcommand: validated settings from the clap structs,
//! the library call, and rendering.

pub mod arp;
pub mod generate;
pub mod probe;
pub mod sockstat;
pub mod tftp;
