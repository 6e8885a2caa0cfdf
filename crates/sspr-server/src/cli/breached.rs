//! `sspr breached import|status`: the offline breached-password corpus (SPEC §3).

use std::io::{BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Subcommand, ValueEnum};
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::ports::Store;
use sspr_directory::breached::{
    BreachedCorpus, ImportOptions, ImportReport, InputFormat, Phase, Progress, import,
};

use super::{Failure, cli_actor, fail};
use crate::config::Loaded;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Decide per line: `SHA1:count`, bare SHA-1, else a plain password.
    Auto,
    /// Have I Been Pwned `SHA1HEX:count` lines.
    Hibp,
    /// One SHA-1 (40 hex digits) per line.
    Sha1,
    /// One plain password per line (hashed with SHA-1; nothing is interpreted).
    Plain,
}

#[derive(Debug, Subcommand)]
pub enum BreachedCommand {
    /// Build a new corpus from a file (or `-` for standard input) and switch to it atomically.
    /// Bad lines are reported with their line numbers; the rest is imported. Running servers
    /// pick the new corpus up within `breached.reload_seconds`.
    Import {
        /// The input file, or `-` for standard input.
        file: PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        format: Format,
    },
    /// Show the corpus in service.
    Status {
        #[arg(long)]
        json: bool,
    },
}

fn progress_printer(total: Option<u64>) -> impl FnMut(Progress) {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last: Option<Instant> = None;
    move |p: Progress| {
        // Every phase change, and reading progress at most twice a second (the first at once).
        let phase_change = !matches!(p.phase, Phase::Reading);
        if !phase_change && last.is_some_and(|t| t.elapsed().as_millis() < 500) {
            return;
        }
        last = Some(Instant::now());
        let what = match p.phase {
            Phase::Reading => match total {
                Some(t) if t > 0 => format!(
                    "reading {:>5.1}%  {} lines",
                    100.0 * p.bytes_read as f64 / t as f64,
                    p.lines_read
                ),
                _ => format!("reading  {} lines", p.lines_read),
            },
            Phase::Splitting => "splitting large buckets".to_owned(),
            Phase::Building { shard, of } => format!("building shard {shard}/{of}"),
            Phase::Committing => "switching to the new corpus".to_owned(),
        };
        let line = format!(
            "{what}  ({} bad lines, {:.0} s)",
            p.bad_lines,
            started.elapsed().as_secs_f64()
        );
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
    }
}

fn print_report(r: &ImportReport) {
    println!(
        "imported {} distinct entries into generation {}",
        r.entries, r.generation
    );
    println!(
        "  {} lines read: {} HIBP, {} SHA-1, {} plain, {} empty, {} bad",
        r.lines_read,
        r.accepted.hibp,
        r.accepted.sha1,
        r.accepted.plain,
        r.empty_lines,
        r.bad_line_count
    );
    if r.bad_line_count > 0 {
        let shown: Vec<String> = r
            .bad_lines
            .iter()
            .take(50)
            .map(|b| format!("line {}: {:?}", b.line, b.reason))
            .collect();
        println!("  bad lines (not imported):");
        for s in &shown {
            println!("    {s}");
        }
        if r.bad_line_count > shown.len() as u64 {
            println!(
                "    … and {} more (the first {} line numbers are kept in the report)",
                r.bad_line_count - shown.len() as u64,
                r.bad_lines.len()
            );
        }
    }
}

pub async fn run(loaded: &Loaded, command: BreachedCommand) -> Result<(), Failure> {
    match command {
        BreachedCommand::Import { file, format } => {
            let store = crate::app::open_store(loaded).await?;
            let format = match format {
                Format::Auto => InputFormat::Auto,
                Format::Hibp => InputFormat::Hibp,
                Format::Sha1 => InputFormat::Sha1,
                Format::Plain => InputFormat::Plain,
            };
            let dir = loaded.breached_dir.clone();
            let opts = ImportOptions {
                format,
                ..ImportOptions::default()
            };
            let source = file.display().to_string();
            let report = tokio::task::spawn_blocking(move || {
                if file.as_os_str() == "-" {
                    let stdin = std::io::stdin();
                    import(stdin.lock(), &dir, opts, &mut progress_printer(None))
                } else {
                    let f = std::fs::File::open(&file)
                        .map_err(|e| fail(format!("{}: {e}", file.display())))?;
                    let total = f.metadata().ok().map(|m| m.len());
                    let reader = BufReader::with_capacity(1 << 20, f);
                    import(reader, &dir, opts, &mut progress_printer(total))
                }
                .map_err(|e| {
                    fail(format!(
                        "the import failed; the previous corpus stays in service: {e}"
                    ))
                })
            })
            .await??;
            eprintln!();
            print_report(&report);
            let audit = AuditEvent::new(events::BREACHED_IMPORT, Outcome::Success)
                .actor(cli_actor())
                .target(source)
                .details(serde_json::json!({
                    "generation": report.generation,
                    "entries": report.entries,
                    "lines": report.lines_read,
                    "bad_lines": report.bad_line_count,
                }));
            store.append_audit(&audit).await?;
            Ok(())
        }
        BreachedCommand::Status { json } => {
            let corpus = BreachedCorpus::open(&loaded.breached_dir)
                .map_err(|e| fail(format!("{}: {e}", loaded.breached_dir.display())))?;
            let status = corpus.status();
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else if status.loaded {
                println!(
                    "{} distinct entries in generation {} ({} shards, {:.1} MiB), built {}",
                    status.entries,
                    status.generation.as_deref().unwrap_or("?"),
                    status.shards,
                    status.memory_bytes as f64 / (1024.0 * 1024.0),
                    status
                        .built_at
                        .and_then(|t| t
                            .format(&time::format_description::well_known::Rfc3339)
                            .ok())
                        .unwrap_or_default()
                );
            } else {
                println!(
                    "no breached-password corpus in {}; import one with `sspr breached import`",
                    loaded.breached_dir.display()
                );
            }
            Ok(())
        }
    }
}
