//! entra-collect: gather a redacted diagnostics bundle for failing Microsoft Entra ID sign-ins
//! (`az login`, `Connect-AzAccount`, `Connect-MgGraph`).
//!
//! Data flow: `cli` validates arguments into a `config::CollectConfig`; `app` builds the
//! `redact::Redactor`, opens a `bundle::BundleWriter` early (so an unwritable output directory
//! fails before any work), runs every `collect::Collector` in parallel through one
//! `exec::Runner`, then writes `summary.md` and `manifest.json` and renames the bundle into place.

pub(crate) mod analyze;
pub mod app;
#[cfg(test)]
mod arch_tests;
// Public: benches/bundle.rs streams a capture through `BundleWriter` as `--net-trace` does.
pub mod bundle;
pub(crate) mod cancel;
pub(crate) mod capture;
pub mod cli;
pub(crate) mod collect;
pub(crate) mod config;
pub(crate) mod console;
pub(crate) mod exec;
pub mod exit;
pub(crate) mod fsutil;
pub(crate) mod inspect;
// Public: the bundle format is a contract, and tests/model_contract.rs reads bundles through it.
pub mod model;
pub(crate) mod os;
pub(crate) mod platform;
pub mod probe;
pub(crate) mod progress;
pub mod redact;
pub(crate) mod report;
pub(crate) mod term;
// Public: the request timeline is read by tests/timeline_e2e.rs.
pub mod timeline;
pub mod vocab;
