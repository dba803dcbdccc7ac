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
    /// How sure the rule is (0–100); orders findings of one severity.
    pub confidence: u8,
}

/// `findings.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Findings {
    /// Ordered by severity, then confidence: the first is the most likely cause.
    pub findings: Vec<Finding>,
}
