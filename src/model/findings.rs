//! `findings.json`: the findings `analyze` computed, most likely cause first
//! (docs/findings.md). `analyze` re-exports [`Finding`], [`Evidence`] and [`Severity`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a finding is; findings are ordered by it, the worst first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a cause.
    Info,
    /// May cause the failure.
    Warning,
    /// Causes the failure.
    Error,
}

/// The kind of evidence a finding rests on, strongest first; it sets the confidence band
/// (docs/findings.md, "Ranking and confidence").
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// It explains where the sign-in run stopped (the failing request or exception).
    FailingRequest,
    /// The sign-in run's log shows it, elsewhere than where the run stopped.
    RunLog,
    /// The connectivity probes show it.
    Probe,
    /// Only the configuration (settings, files, versions) shows it.
    #[default]
    Configuration,
}

/// What triggered a finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct Evidence {
    /// The bundle entry the fact comes from.
    pub file: String,
    /// The line or fact that triggered the finding.
    pub excerpt: String,
}

/// One diagnosis with its fix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Finding {
    /// The stable id (a public contract: docs/findings.md), e.g. `proxy.tls-inspection`.
    pub id: String,
    /// `error`, `warning` or `info`.
    pub severity: Severity,
    /// One line, in the run's language (English or Japanese).
    pub title: String,
    /// What was seen and why it matters.
    pub detail: String,
    /// The entries and lines that triggered it.
    pub evidence: Vec<Evidence>,
    /// The steps that fix it.
    pub fix: Vec<String>,
    /// A link to Microsoft's documentation.
    pub docs: String,
    /// How sure the diagnosis is (0–100), from its `basis`: 90–99 the failing request itself,
    /// 80–89 the run's log elsewhere, 65–79 the probes, 50–64 the configuration only.
    pub confidence: u8,
    /// The kind of evidence it rests on. Schema 1 bundles have none (read as `configuration`).
    #[serde(default)]
    pub basis: Basis,
}

/// `findings.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Findings {
    /// The cause of the run's failure first, then by basis, severity and confidence
    /// (docs/findings.md, "Ranking and confidence").
    pub findings: Vec<Finding>,
}
