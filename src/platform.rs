//! Which operating system's collection logic runs.
//!
//! Windows is the first platform, but the test suite runs on Linux: a platform override
//! (`--platform` hidden flag or `ENTRA_COLLECT_PLATFORM`) makes every collector take the Windows
//! code path while the runner still executes fake tools found on PATH.

use std::fmt;
use std::str::FromStr;

/// Environment variable that overrides the detected platform (tests only).
pub const PLATFORM_ENV: &str = "ENTRA_COLLECT_PLATFORM";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Windows,
    Linux,
    Macos,
}

impl Platform {
    /// The platform this binary was compiled for (anything unknown is treated like Linux).
    pub fn native() -> Self {
        if cfg!(windows) {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::Macos
        } else {
            Platform::Linux
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Windows => "windows",
            Platform::Linux => "linux",
            Platform::Macos => "macos",
        }
    }

    pub fn is_windows(self) -> bool {
        self == Platform::Windows
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "windows" => Ok(Platform::Windows),
            "linux" => Ok(Platform::Linux),
            "macos" | "darwin" => Ok(Platform::Macos),
            other => Err(format!(
                "unknown platform '{other}' (expected windows, linux or macos)"
            )),
        }
    }
}
