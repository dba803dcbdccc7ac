//! The SOCKS handshakes a probe makes when the client's proxy is `socks4://`, `socks4a://`,
//! `socks5://` or `socks5h://`, byte for byte as Azure CLI makes them.
//!
//! Azure CLI's requests reaches SOCKS proxies through urllib3's `contrib/socks.py`
//! (`SOCKSProxyManager`: `socks5` and `socks4` resolve the endpoint locally, `socks5h` and
//! `socks4a` let the proxy resolve it; user and password from the URL) and PySocks 1.7.1, which
//! `pip install azure-cli` installs (`socks.py`): SOCKS5 offers user/password (method 2) only
//! when both are set, else only "no authentication"; SOCKS4 sends the user name as the user id.
//! Checked against the sources in the venv the end-to-end tests install (urllib3 2.8.0).
//! PySocks' default port, 1080, applies when the URL has none.

use std::net::IpAddr;

use super::{Deadline, ErrorKind, Failure, ProxyCredentials, Socket, StageName, io_kind};

/// SOCKS version and who resolves the endpoint's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socks {
    pub version: u8,
    /// The proxy resolves the name (`socks5h`, `socks4a`).
    pub remote_dns: bool,
}

/// Where the tunnel goes: a name the proxy resolves, or an address resolved here.
pub enum Dest<'a> {
    Name(&'a str),
    Addr(IpAddr),
}

/// PySocks' `SOCKS5_ERRORS`.
fn socks5_error(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported, or protocol error",
        8 => "address type not supported",
        _ => "unknown error",
    }
}

/// PySocks' `SOCKS4_ERRORS`.
fn socks4_error(code: u8) -> &'static str {
    match code {
        0x5B => "request rejected or failed",
        0x5C => "request rejected: the SOCKS server cannot reach identd on the client",
        0x5D => "request rejected: the client and identd report different user ids",
        _ => "unknown error",
    }
}

/// What the proxy answered: granted, or refused with a reason (recorded, the probe ends).
pub enum Answer {
    Granted,
    Refused(String),
}

fn io(e: std::io::Error) -> Failure {
    Failure(
        StageName::Connect,
        io_kind(&e),
        format!("talking to the SOCKS proxy: {e}"),
    )
}

fn send<S: Socket>(s: &mut S, bytes: &[u8], deadline: Deadline) -> Result<(), Failure> {
    deadline
        .arm(s.socket())
        .and_then(|_| s.write_all(bytes))
        .and_then(|_| s.flush())
        .map_err(io)
}

fn recv<S: Socket>(s: &mut S, n: usize, deadline: Deadline) -> Result<Vec<u8>, Failure> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        deadline.arm(s.socket()).map_err(io)?;
        match s.read(&mut buf[got..]).map_err(io)? {
            0 => {
                return Err(Failure(
                    StageName::Connect,
                    ErrorKind::ProxyStatus,
                    "the SOCKS proxy closed the connection mid-answer".into(),
                ));
            }
            k => got += k,
        }
    }
    Ok(buf)
}

fn invalid(version: u8) -> Failure {
    Failure(
        StageName::Connect,
        ErrorKind::ProxyStatus,
        format!("the SOCKS{version} proxy sent invalid data (is it a SOCKS proxy?)"),
    )
}

/// Ask the proxy for a tunnel to `dest:port`.
pub(super) fn connect<S: Socket>(
    s: &mut S,
    socks: Socks,
    dest: Dest<'_>,
    port: u16,
    credentials: Option<&ProxyCredentials>,
    deadline: Deadline,
) -> Result<Answer, Failure> {
    match socks.version {
        5 => socks5(s, dest, port, credentials, deadline),
        _ => socks4(s, dest, port, credentials, deadline),
    }
}

fn socks5<S: Socket>(
    s: &mut S,
    dest: Dest<'_>,
    port: u16,
    credentials: Option<&ProxyCredentials>,
    deadline: Deadline,
) -> Result<Answer, Failure> {
    let login = credentials.filter(|c| !c.user.is_empty() && !c.password.is_empty());
    let greeting: &[u8] = if login.is_some() {
        b"\x05\x02\x00\x02"
    } else {
        b"\x05\x01\x00"
    };
    send(s, greeting, deadline)?;
    let chosen = recv(s, 2, deadline)?;
    if chosen[0] != 5 {
        return Err(invalid(5));
    }
    match (chosen[1], login) {
        (0, _) => {}
        (2, Some(c)) => {
            let (u, p) = (c.user.as_bytes(), c.password.as_bytes());
            if u.len() > 255 || p.len() > 255 {
                return Ok(Answer::Refused(
                    "the SOCKS5 user name or password is longer than 255 bytes".into(),
                ));
            }
            let mut msg = Vec::with_capacity(3 + u.len() + p.len());
            msg.push(1);
            msg.push(u.len() as u8);
            msg.extend_from_slice(u);
            msg.push(p.len() as u8);
            msg.extend_from_slice(p);
            // Holds the password: straight to the socket, then gone.
            send(s, &msg, deadline)?;
            drop(msg);
            let status = recv(s, 2, deadline)?;
            if status[0] != 1 {
                return Err(invalid(5));
            }
            if status[1] != 0 {
                return Ok(Answer::Refused(
                    "the SOCKS5 proxy rejected the user name and password".into(),
                ));
            }
        }
        (2, None) => {
            return Ok(Answer::Refused(
                "the SOCKS5 proxy asks for a user name and password, and the proxy URL has none"
                    .into(),
            ));
        }
        (0xFF, _) => {
            return Ok(Answer::Refused(
                "the SOCKS5 proxy rejected every authentication method offered".into(),
            ));
        }
        _ => return Err(invalid(5)),
    }
    let mut req = vec![5, 1, 0];
    match dest {
        Dest::Addr(IpAddr::V4(a)) => {
            req.push(1);
            req.extend_from_slice(&a.octets());
        }
        Dest::Addr(IpAddr::V6(a)) => {
            req.push(4);
            req.extend_from_slice(&a.octets());
        }
        Dest::Name(n) => {
            req.push(3);
            req.push(n.len().min(255) as u8);
            req.extend_from_slice(&n.as_bytes()[..n.len().min(255)]);
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    send(s, &req, deadline)?;
    let head = recv(s, 4, deadline)?;
    if head[0] != 5 {
        return Err(invalid(5));
    }
    if head[1] != 0 {
        return Ok(Answer::Refused(format!(
            "the SOCKS5 proxy refused the connection: {} ({:#04x})",
            socks5_error(head[1]),
            head[1]
        )));
    }
    // The bound address, read whole so the TLS handshake starts on a clean stream.
    let rest = match head[3] {
        1 => 4,
        4 => 16,
        3 => recv(s, 1, deadline)?[0] as usize,
        _ => return Err(invalid(5)),
    };
    recv(s, rest + 2, deadline)?;
    Ok(Answer::Granted)
}

fn socks4<S: Socket>(
    s: &mut S,
    dest: Dest<'_>,
    port: u16,
    credentials: Option<&ProxyCredentials>,
    deadline: Deadline,
) -> Result<Answer, Failure> {
    let mut req = vec![4, 1];
    req.extend_from_slice(&port.to_be_bytes());
    let name = match dest {
        Dest::Addr(IpAddr::V4(a)) => {
            req.extend_from_slice(&a.octets());
            None
        }
        Dest::Addr(IpAddr::V6(_)) => {
            return Ok(Answer::Refused(
                "SOCKS4 cannot carry an IPv6 address (socks4a:// or socks5h:// let the proxy resolve the name)".into(),
            ));
        }
        Dest::Name(n) => {
            // SOCKS4a: 0.0.0.1, then the name after the user id.
            req.extend_from_slice(&[0, 0, 0, 1]);
            Some(n)
        }
    };
    if let Some(c) = credentials {
        req.extend_from_slice(c.user.as_bytes());
    }
    req.push(0);
    if let Some(n) = name {
        req.extend_from_slice(n.as_bytes());
        req.push(0);
    }
    send(s, &req, deadline)?;
    let answer = recv(s, 8, deadline)?;
    if answer[0] != 0 {
        return Err(invalid(4));
    }
    if answer[1] != 0x5A {
        return Ok(Answer::Refused(format!(
            "the SOCKS4 proxy refused the connection: {} ({:#04x})",
            socks4_error(answer[1]),
            answer[1]
        )));
    }
    Ok(Answer::Granted)
}
