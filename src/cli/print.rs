//! How the CLI prints an administrative command's answer: for a person, or as one JSON document
//! with `--json`. Each answer type says how it reads as text ([`Report`]).

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{CliError, Output};
use crate::service::admin::{BackupReport, Done};
use crate::service::audit::AuditEvent;
use crate::service::authorize::ConsentView;
use crate::service::invitations::InvitationView;
use crate::service::login::SessionView;
use crate::service::upstream::LinkView;
use crate::service::views::{ClientCreated, ClientView, KeyView, Page, UserView};

/// An answer the CLI can print: as JSON (its serde form) or as text for a person.
pub trait Report: Serialize {
    /// Writes the answer for a person.
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()>;
}

fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(())
}

/// Prints `output` for a person, or as one JSON document with `--json`. Either way the data
/// file used is named: as a `data_file` field added to a JSON object, otherwise on standard
/// error (a JSON list has no room for it).
pub fn print_output<T: Report>(output: &T, out: Output, data_file: &Path) -> Result<(), CliError> {
    if out.json {
        let value = serde_json::to_value(output).map_err(|e| CliError::Usage(e.to_string()))?;
        return match value {
            serde_json::Value::Object(mut fields) => {
                fields
                    .entry("data_file")
                    .or_insert_with(|| data_file.display().to_string().into());
                print_json(&fields)
            }
            other => {
                eprintln!("data file: {}", data_file.display());
                print_json(&other)
            }
        };
    }
    eprintln!("data file: {}", data_file.display());
    let mut o = std::io::stdout().lock();
    output.text(&mut o)?;
    Ok(())
}

impl Report for UserView {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        write_user(o, self)
    }
}

impl Report for Page<UserView> {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        for u in &self.items {
            let flags = if u.disabled { " (disabled)" } else { "" };
            writeln!(
                o,
                "{:<24} {:<24} {}{}",
                u.username,
                u.subject,
                u.email.as_deref().unwrap_or("-"),
                flags
            )?;
        }
        if let Some(next) = &self.next {
            writeln!(o, "(more: --after {next})")?;
        }
        Ok(())
    }
}

impl Report for ClientView {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        write_client(o, self)
    }
}

impl Report for ClientCreated {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        write_client(o, &self.client)?;
        if let Some(secret) = &self.client_secret {
            writeln!(o, "client_secret: {secret}")?;
            writeln!(o, "(shown only now: store it safely)")?;
        }
        Ok(())
    }
}

impl Report for Vec<ClientView> {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        for c in self {
            let kind = if c.public { "public" } else { "confidential" };
            writeln!(o, "{:<24} {:<13} {:?} {}", c.client_id, kind, c.source, c.name)?;
        }
        Ok(())
    }
}

impl Report for KeyView {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        write_key(o, self)
    }
}

impl Report for Vec<KeyView> {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        for k in self {
            write_key(o, k)?;
        }
        Ok(())
    }
}

impl Report for BackupReport {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        writeln!(o, "wrote a checked backup to {}", self.path.display())?;
        for (table, rows) in &self.tables.0 {
            writeln!(o, "  {table}: {rows} rows")?;
        }
        Ok(())
    }
}

impl Report for Vec<SessionView> {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        for sess in self {
            writeln!(
                o,
                "{} auth_time={} expires_at={}",
                sess.sid, sess.auth_time, sess.expires_at
            )?;
        }
        Ok(())
    }
}

impl Report for Vec<ConsentView> {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        for c in self {
            writeln!(o, "{:<24} {}", c.client_id, c.scopes.join(" "))?;
        }
        Ok(())
    }
}

impl Report for Page<AuditEvent> {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        for e in &self.items {
            let outcome = if e.success { "ok" } else { "refused" };
            let target = e.target.as_deref().unwrap_or("-");
            writeln!(
                o,
                "{} {:<24} {:<20} {} {}",
                e.time, e.action, e.actor, target, outcome
            )?;
        }
        Ok(())
    }
}

impl Report for Vec<LinkView> {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        for l in self {
            write_link(o, l)?;
        }
        Ok(())
    }
}

impl Report for LinkView {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        write_link(o, self)
    }
}

impl Report for Done {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        writeln!(o, "done ({})", self.count)
    }
}

impl Report for InvitationView {
    fn text(&self, o: &mut dyn Write) -> std::io::Result<()> {
        writeln!(o, "username:   {}", self.username)?;
        writeln!(o, "url:        {}", self.url)?;
        writeln!(o, "expires_at: {}", self.expires_at)?;
        writeln!(
            o,
            "(the link works once and is shown only now: send it to the person)"
        )
    }
}

fn write_user(o: &mut dyn Write, u: &UserView) -> std::io::Result<()> {
    writeln!(o, "username:       {}", u.username)?;
    writeln!(o, "subject:        {}", u.subject)?;
    writeln!(o, "name:           {}", u.name.as_deref().unwrap_or("-"))?;
    writeln!(o, "email:          {}", u.email.as_deref().unwrap_or("-"))?;
    writeln!(o, "email_verified: {}", u.email_verified)?;
    writeln!(o, "groups:         {}", u.groups.join(", "))?;
    writeln!(o, "disabled:       {}", u.disabled)?;
    writeln!(o, "has_password:   {}", u.has_password)
}

fn write_client(o: &mut dyn Write, c: &ClientView) -> std::io::Result<()> {
    writeln!(o, "client_id:     {}", c.client_id)?;
    writeln!(o, "name:          {}", c.name)?;
    writeln!(
        o,
        "type:          {}",
        if c.public { "public" } else { "confidential" }
    )?;
    writeln!(o, "redirect_uris: {}", c.redirect_uris.join(" "))?;
    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    writeln!(o, "grant_types:   {}", grants.join(" "))?;
    writeln!(o, "scopes:        {}", c.scopes.join(" "))?;
    writeln!(o, "first_party:   {}", c.first_party)?;
    let pkce = match c.require_pkce {
        Some(true) => "always",
        Some(false) => "never (legacy)",
        None => "server default",
    };
    writeln!(o, "require_pkce:  {pkce}")?;
    if c.allow_http_localhost {
        writeln!(o, "allow_http_localhost: true")?;
    }
    if !c.resources.is_empty() {
        writeln!(o, "resources:     {}", c.resources.join(" "))?;
    }
    writeln!(o, "require_factors: {}", c.require_factors)?;
    if !c.allowed_groups.is_empty() {
        writeln!(o, "allowed_groups: {}", c.allowed_groups.join(" "))?;
    }
    if let Some(url) = &c.launch_url {
        writeln!(o, "launch_url:    {url}")?;
    }
    if let Some(icon) = &c.icon {
        // A data: URL can be 16 KiB long: its kind and size are enough here (--json has it whole).
        match icon.split_once(',') {
            Some((kind, data)) if icon.starts_with("data:") => {
                writeln!(o, "icon:          {kind},... ({} characters)", data.len())?
            }
            _ => writeln!(o, "icon:          {icon}")?,
        }
    }
    writeln!(o, "source:        {:?}", c.source)
}

fn write_link(o: &mut dyn Write, l: &LinkView) -> std::io::Result<()> {
    let used = l
        .last_used
        .map(|t| t.0.to_string())
        .unwrap_or_else(|| "never".into());
    writeln!(
        o,
        "{:<16} {:<40} linked_at={} last_used={used}",
        l.upstream, l.upstream_subject, l.linked_at.0
    )
}

fn write_key(o: &mut dyn Write, k: &KeyView) -> std::io::Result<()> {
    let retire = k.retire_at.map(|t| format!(" retire_at={t}")).unwrap_or_default();
    writeln!(
        o,
        "{} {} {:?} created_at={}{}",
        k.kid, k.alg, k.status, k.created_at, retire
    )
}
