//! entra-collect: gather a redacted diagnostics bundle for failing Microsoft Entra ID sign-ins
//! (`az login`, `Connect-AzAccount`, `Connect-MgGraph`).
//!
//! Data flow: `cli` validates arguments into a `config::CollectConfig`; `app` builds the
//! `redact::Redactor`, opens a `bundle::BundleWriter` early (so an unwritable output directory
//! fails before any work), runs every `collect::Collector` in parallel through one
//! `exec::Runner`, then writes `summary.md` and `manifest.json` and renames the bundle into place.

pub mod analyze;
pub mod app;
#[cfg(test)]
mod arch_tests;
pub mod bundle;
pub mod cancel;
pub mod cli;
pub mod collect;
pub mod config;
pub mod exec;
pub mod exit;
pub mod fsutil;
pub mod inspect;
pub mod model;
pub mod os;
pub mod platform;
pub mod probe;
pub mod progress;
pub mod redact;
pub mod report;
pub mod term;
pub mod trace;
pub mod vocab;
