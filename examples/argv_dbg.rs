fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let s = entra_collect::redact::cmdline::sanitize_argv(&args);
    println!("{:?}\n{:?}", s.argv, s.masked);
    let line = format!("DEBUG: cli.knack.cli: Command arguments: [{}]", args[1..].iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", "));
    println!("{:?}", entra_collect::redact::cmdline::sanitize_az_arguments_line(&line));
}
