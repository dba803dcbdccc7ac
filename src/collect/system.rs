//! `system`: the host (name, OS, kernel, architecture) and the local clock, so the support
//! engineer can line the bundle up with the tenant's sign-in log (which is in UTC).

use sysinfo::System as Sys;

use super::{Collector, Context, Outcome};
use crate::model::{self, Host, names};
use crate::platform::Platform;

pub struct System;

/// Facts about the host, read through sysinfo (no external command needed).
pub fn host_info(platform: Platform) -> Host {
    Host {
        hostname: Sys::host_name().unwrap_or_else(|_| "unknown".into()),
        os: Sys::name().unwrap_or_else(|_| std::env::consts::OS.into()),
        os_version: Sys::long_os_version()
            .or_else(|_| Sys::os_version())
            .unwrap_or_default(),
        kernel: Sys::kernel_version().unwrap_or_default(),
        arch: Sys::cpu_arch(),
        platform: platform.as_str().into(),
    }
}

impl Collector for System {
    fn id(&self) -> &'static str {
        "system"
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let host = host_info(ctx.platform);
        let now = chrono::Local::now();
        let value = model::System {
            hostname: host.hostname,
            os: host.os,
            os_version: host.os_version,
            kernel: host.kernel,
            arch: host.arch,
            platform: host.platform,
            native_platform: Platform::native().as_str().into(),
            distribution_id: Sys::distribution_id(),
            uptime_secs: Sys::uptime().ok(),
            boot_time_unix: Sys::boot_time().ok(),
            local_time: now.to_rfc3339(),
            utc_offset_minutes: now.offset().local_minus_utc() / 60,
            cpus: std::thread::available_parallelism().map(|n| n.get()).ok(),
            entra_collect_version: env!("CARGO_PKG_VERSION").into(),
        };
        let mut out = Outcome::ok();
        out.add_entry(ctx, names::SYSTEM, &value);
        out
    }
}
