//! `latchkey store copy --from SOURCE --to TARGET`: a whole store into a new one, between a redb
//! file and a PostgreSQL database (either way, or file to file), with the servers stopped. Shows
//! rows copied, the rate and the time left (`indicatif`) on a terminal, and one line per table
//! otherwise; then the copy's check.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::CliError;
use crate::store::copy::{self, Progress};
use crate::store::{Location, PostgresOptions, Store, StoreError};

/// Where SOURCE or TARGET is: a `postgres://` URL, or a redb file's path.
fn location(text: &str, schema: &str) -> Location {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Location::Postgres(PostgresOptions {
            url: text.to_owned(),
            schema: schema.to_owned(),
            pool_size: 2,
            tls_ca_file: None,
        })
    } else {
        Location::File(PathBuf::from(text))
    }
}

pub fn run(from: &str, to: &str, schema: &str, json: bool) -> Result<(), CliError> {
    let (source, target) = (location(from, schema), location(to, schema));
    if let Location::File(path) = &source
        && !path.exists()
    {
        return Err(CliError::Usage(format!("no data file at {}", path.display())));
    }
    if let Location::File(path) = &target
        && path.exists()
    {
        return Err(CliError::Usage(format!(
            "{} exists; copy only into a new file",
            path.display()
        )));
    }
    let open = |location: &Location| {
        Store::open_at(location).map_err(|e| match e {
            StoreError::AlreadyOpen { path } => CliError::Usage(format!(
                "the data file {} is held by a running server; stop it before copying",
                path.display()
            )),
            other => CliError::from(other),
        })
    };
    let from_store = open(&source)?;
    let to_store = open(&target)?;
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:>22} {wide_bar} {pos}/{len} rows, {per_sec}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let terminal = !bar.is_hidden();
    let mut current = "";
    let counts = copy::copy(&from_store, &to_store, &mut |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.copied);
        bar.set_message(p.table);
        if !terminal && p.table != current {
            eprintln!(
                "copying table {} ({} of {} rows so far)",
                p.table, p.copied, p.total
            );
        }
        current = p.table;
    });
    bar.finish_and_clear();
    let counts = counts?;
    let total: u64 = counts.0.iter().map(|(_, n)| n).sum();
    if json {
        let tables: serde_json::Map<String, serde_json::Value> = counts
            .0
            .iter()
            .map(|(t, n)| (t.clone(), serde_json::Value::from(*n)))
            .collect();
        let answer = serde_json::json!({
            "from": from_store.describe(),
            "to": to_store.describe(),
            "rows": total,
            "tables": tables,
            "checked": true,
        });
        println!("{answer}");
    } else {
        println!(
            "copied {total} rows in {} tables from {} to {}; checked: row counts match and sampled rows are identical",
            counts.0.len(),
            from_store.describe(),
            to_store.describe()
        );
    }
    Ok(())
}
