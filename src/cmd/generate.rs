//! `nettool generate`: completions for bash, zsh, fish, elvish and
//! powershell into `completions/`, and man pages into `man/` (`nettool.1`
//! plus `nettool-<sub>.1` for every visible subcommand, and
//! `nettool-<sub>-<subsub>.1` for theirs, such as `nettool-tftp-get.1`).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use clap_complete::Shell;

use crate::Status;

/// Every generated file as (relative path, bytes), so the freshness test
/// compares exactly what `generate` writes.
pub fn files() -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut cmd = crate::cli::command();
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "nettool", &mut buf);
        let name = match shell {
            Shell::Bash => "nettool.bash".to_string(),
            Shell::Zsh => "_nettool".to_string(),
            Shell::Fish => "nettool.fish".to_string(),
            Shell::Elvish => "nettool.elv".to_string(),
            Shell::PowerShell => "_nettool.ps1".to_string(),
            other => format!("nettool.{other}"),
        };
        out.push((format!("completions/{name}"), buf));
    }
    let cmd = crate::cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    out.push(("man/nettool.1".to_string(), buf));
    let version = cmd.get_version().map(str::to_string);
    pages(&cmd, "nettool", version.as_deref(), &mut out)?;
    Ok(out)
}

/// One man page per visible subcommand of `parent` (whose command line
/// starts `bin`), and recursively for theirs: a page lists only its own
/// command's options, so `tftp get` needs a page of its own.
/// Each page carries the program's `version` (`propagate_version` reaches
/// only a built command, not these clones).
fn pages(
    parent: &clap::Command,
    bin: &str,
    version: Option<&str>,
    out: &mut Vec<(String, Vec<u8>)>,
) -> Result<()> {
    for sub in parent.get_subcommands().filter(|s| !s.is_hide_set()) {
        let bin = format!("{bin} {}", sub.get_name());
        let name = bin.replace(' ', "-");
        let mut page = sub.clone().name(name.clone()).bin_name(bin.clone());
        if let Some(version) = version {
            page = page.version(version.to_string());
        }
        let mut buf = Vec::new();
        clap_mangen::Man::new(page).render(&mut buf)?;
        out.push((format!("man/{name}.1"), buf));
        pages(sub, &bin, version, out)?;
    }
    Ok(())
}

pub fn run(dir: &Path) -> Result<Status> {
    for sub in ["completions", "man"] {
        fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
    }
    for (rel, bytes) in files()? {
        let path = dir.join(&rel);
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Status::Success)
}
