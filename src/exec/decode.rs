//! Turning a command's output bytes into text, by what the program writes.
//!
//! Output that is valid UTF-8 is read as UTF-8: the common case everywhere, and what our own
//! PowerShell script asks for (`[Console]::OutputEncoding`). On Linux and macOS anything else is
//! decoded lossily, invalid bytes becoming U+FFFD. Windows programs write in a code page instead:
//! console programs (`reg`, `netsh`, `whoami`, PowerShell) in the console's output code page, and
//! Python, so Azure CLI, in the ANSI code page when its output is a pipe; on Japanese Windows
//! both are 932 (Shift_JIS), and a Japanese `reg` error read as UTF-8 would be nothing but
//! U+FFFD. `powershell.exe` may also write UTF-16LE when redirected. One encoding is chosen per
//! stream, and the caller is told which and whether some bytes could not be decoded.

use encoding_rs::Encoding;

use crate::os::CodePages;

/// What a program writes when its output is not UTF-8 (Windows only; set on the command
/// builder, [`super::Cmd::decode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decode {
    /// A console program (`reg`, `netsh`, `whoami`, PowerShell): the console's output code page
    /// (`GetConsoleOutputCP`, which our children inherit with our console), or the OEM code page
    /// when this process has no console, as a console child then gets a new console in it.
    #[default]
    Console,
    /// A program that writes the ANSI code page (`GetACP`) to a pipe: Python, so Azure CLI.
    /// `az.cmd` runs `python.exe -IBm azure.cli`, and `-I` makes Python ignore `PYTHONUTF8` and
    /// `PYTHONIOENCODING`, so its piped output is in the legacy ANSI code page (azure-cli issue
    /// #28497, "Consider use UTF-8 by default for Azure CLI", and its fix proposal PR #33935).
    Ansi,
}

impl Decode {
    /// Where output that is not UTF-8 is decoded from, given this machine's code pages (None:
    /// not Windows).
    pub fn fallback(self, pages: Option<CodePages>) -> Fallback {
        match pages {
            None => Fallback::Utf8Lossy,
            Some(p) => Fallback::CodePage(match self {
                Decode::Console if p.console_output != 0 => p.console_output,
                Decode::Console => p.oem,
                Decode::Ansi => p.ansi,
            }),
        }
    }
}

/// How output that is not UTF-8 is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Linux, macOS: invalid UTF-8 becomes U+FFFD.
    Utf8Lossy,
    /// Windows: UTF-16LE when it looks like it, else this code page.
    CodePage(u32),
}

/// The encoding a stream was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    /// A Windows code page (never 65001 or 1200: those are the two above).
    CodePage(u32),
}

impl TextEncoding {
    fn of_code_page(cp: u32) -> Self {
        match cp {
            65001 => TextEncoding::Utf8,
            1200 => TextEncoding::Utf16Le,
            n => TextEncoding::CodePage(n),
        }
    }

    /// As the manifest records it: `utf-8`, `utf-16le` or `cp<N>` (`cp932`).
    pub fn label(self) -> String {
        match self {
            TextEncoding::Utf8 => "utf-8".into(),
            TextEncoding::Utf16Le => "utf-16le".into(),
            TextEncoding::CodePage(n) => format!("cp{n}"),
        }
    }
}

/// A stream as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub encoding: TextEncoding,
    /// Some bytes could not be decoded and became U+FFFD.
    pub lossy: bool,
}

/// Decode one stream. Valid UTF-8 stays UTF-8 (a UTF-8 BOM is kept, as callers strip it); on
/// Windows a UTF-16LE stream (BOM `FF FE`, removed, or a NUL in every other byte) is read as
/// UTF-16LE, and anything else in the code page.
pub fn decode(bytes: &[u8], fallback: Fallback) -> Decoded {
    if let Fallback::CodePage(_) = fallback {
        if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
            return with(encoding_rs::UTF_16LE, rest, TextEncoding::Utf16Le);
        }
        if looks_utf16le(bytes) {
            return with(encoding_rs::UTF_16LE, bytes, TextEncoding::Utf16Le);
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            return Decoded {
                text: s.to_owned(),
                encoding: TextEncoding::Utf8,
                lossy: false,
            };
        }
        // Valid but for an incomplete sequence at the very end: UTF-8 cut short (the capture
        // cap, a killed program), not another encoding.
        Err(e) if e.error_len().is_none() => {
            return with(encoding_rs::UTF_8, bytes, TextEncoding::Utf8);
        }
        Err(_) => {}
    }
    match fallback {
        Fallback::Utf8Lossy => with(encoding_rs::UTF_8, bytes, TextEncoding::Utf8),
        Fallback::CodePage(cp) => match encoding_of(cp) {
            Some(enc) => with(enc, bytes, TextEncoding::of_code_page(cp)),
            None => ascii_only(bytes, cp),
        },
    }
}

fn with(enc: &'static Encoding, bytes: &[u8], used: TextEncoding) -> Decoded {
    let (text, lossy) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: used,
        lossy,
    }
}

/// A code page encoding_rs has no table for (the OEM code pages 437, 850, ... of Western
/// Windows): ASCII is read as ASCII, any other byte becomes U+FFFD and marks the text lossy.
fn ascii_only(bytes: &[u8], cp: u32) -> Decoded {
    let text = bytes
        .iter()
        .map(|&b| if b.is_ascii() { b as char } else { '\u{FFFD}' })
        .collect();
    Decoded {
        text,
        encoding: TextEncoding::of_code_page(cp),
        lossy: !bytes.is_ascii(),
    }
}

/// UTF-16LE without a BOM, as `powershell.exe` may write it. Text in UTF-8 or a code page has
/// no NUL byte at all; UTF-16LE has one as the high byte of every ASCII-range character (at
/// least the line ends: one code unit in 16 is asked for) and rarely as a low byte (U+3000,
/// U+4E00, ... have one).
fn looks_utf16le(bytes: &[u8]) -> bool {
    let units = bytes.len() / 2;
    let (mut high, mut low) = (0usize, 0usize);
    for (i, _) in bytes.iter().enumerate().filter(|(_, b)| **b == 0) {
        if i % 2 == 1 {
            high += 1;
        } else {
            low += 1;
        }
    }
    high > 0 && high * 16 >= units && low * 4 <= high
}

/// The encoding_rs encoding of a Windows code page identifier, where it has one.
pub fn encoding_of(cp: u32) -> Option<&'static Encoding> {
    use encoding_rs::*;
    Some(match cp {
        866 => IBM866,
        874 => WINDOWS_874,
        932 => SHIFT_JIS,
        936 => GBK,
        949 | 51949 => EUC_KR,
        950 => BIG5,
        1200 => UTF_16LE,
        1201 => UTF_16BE,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1252 => WINDOWS_1252,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        10000 => MACINTOSH,
        10007 => X_MAC_CYRILLIC,
        20866 => KOI8_R,
        21866 => KOI8_U,
        20932 | 51932 => EUC_JP,
        // ISO-8859-1 and -9 are read as their windows-125x supersets (as browsers do).
        28591 => WINDOWS_1252,
        28592 => ISO_8859_2,
        28593 => ISO_8859_3,
        28594 => ISO_8859_4,
        28595 => ISO_8859_5,
        28596 => ISO_8859_6,
        28597 => ISO_8859_7,
        28598 => ISO_8859_8,
        28599 => WINDOWS_1254,
        28603 => ISO_8859_13,
        28605 => ISO_8859_15,
        38598 => ISO_8859_8_I,
        50220..=50222 => ISO_2022_JP,
        54936 => GB18030,
        65001 => UTF_8,
        _ => return None,
    })
}

/// One stream decoded while it runs, for the live view of an interactive command: UTF-8 is
/// passed on as it comes; on Windows, from the first byte that cannot be UTF-8 on, the rest is
/// decoded in the code page. (The bundle's text is decoded whole afterwards with [`decode`],
/// which may pick the code page for the earlier part too; that part was ASCII, shown alike.)
/// Elsewhere, or for a code page without a table, the bytes pass unchanged and the live view
/// replaces what is not UTF-8, as before.
pub struct LiveDecoder {
    state: LiveState,
}

enum LiveState {
    /// Passing bytes through untouched.
    Raw,
    /// UTF-8 so far; `held` is an incomplete sequence at the end of the last chunk, and `then`
    /// the code page to switch to.
    Utf8 {
        held: Vec<u8>,
        then: &'static Encoding,
    },
    CodePage(encoding_rs::Decoder),
}

impl LiveDecoder {
    pub fn new(fallback: Fallback) -> Self {
        let state = match fallback {
            Fallback::CodePage(cp) => match encoding_of(cp) {
                Some(enc) if enc != encoding_rs::UTF_8 => LiveState::Utf8 {
                    held: Vec::new(),
                    then: enc,
                },
                _ => LiveState::Raw,
            },
            Fallback::Utf8Lossy => LiveState::Raw,
        };
        LiveDecoder { state }
    }

    /// The bytes to show for `chunk`: UTF-8 unless passed through raw.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        match &mut self.state {
            LiveState::Raw => chunk.to_vec(),
            LiveState::CodePage(d) => transcode(d, chunk, false),
            LiveState::Utf8 { held, then } => {
                held.extend_from_slice(chunk);
                let buf = std::mem::take(held);
                match std::str::from_utf8(&buf) {
                    Ok(_) => buf,
                    Err(e) if e.error_len().is_none() => {
                        let n = e.valid_up_to();
                        *held = buf[n..].to_vec();
                        buf[..n].to_vec()
                    }
                    Err(e) => {
                        let n = e.valid_up_to();
                        let mut d = then.new_decoder_without_bom_handling();
                        let mut out = buf[..n].to_vec();
                        out.extend(transcode(&mut d, &buf[n..], false));
                        self.state = LiveState::CodePage(d);
                        out
                    }
                }
            }
        }
    }

    /// What is still held at the end of the stream.
    pub fn finish(&mut self) -> Vec<u8> {
        match &mut self.state {
            LiveState::Raw => Vec::new(),
            LiveState::Utf8 { held, .. } => std::mem::take(held),
            LiveState::CodePage(d) => transcode(d, &[], true),
        }
    }
}

fn transcode(d: &mut encoding_rs::Decoder, src: &[u8], last: bool) -> Vec<u8> {
    let mut out = vec![
        0u8;
        d.max_utf8_buffer_length(src.len())
            .unwrap_or(src.len() * 3 + 16)
    ];
    let (_, _, written, _) = d.decode_to_utf8(src, &mut out, last);
    out.truncate(written);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `reg query HKCU\NoSuchKey` on Japanese Windows, as `reg` writes it (code page 932).
    const REG_JA: &str = "エラー: 指定されたレジストリ キーまたは値が見つかりませんでした。";

    fn sjis(s: &str) -> Vec<u8> {
        let (b, _, errors) = encoding_rs::SHIFT_JIS.encode(s);
        assert!(!errors);
        b.into_owned()
    }

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn japanese_reg_message_in_code_page_932_is_read_whole() {
        let bytes = sjis(&format!("\r\n{REG_JA}\r\n"));
        assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8 by chance");
        let d = decode(&bytes, Fallback::CodePage(932));
        assert_eq!(d.text, format!("\r\n{REG_JA}\r\n"));
        assert_eq!((d.encoding, d.lossy), (TextEncoding::CodePage(932), false));
        assert_eq!(d.encoding.label(), "cp932");
        // Before: every Japanese character became U+FFFD. Linux still reads UTF-8 only.
        let linux = decode(&bytes, Fallback::Utf8Lossy);
        assert!(linux.lossy && linux.text.contains('\u{FFFD}'));
        assert_eq!(linux.encoding.label(), "utf-8");
    }

    #[test]
    fn valid_utf8_wins_over_the_code_page_and_keeps_its_bom() {
        for fallback in [Fallback::CodePage(932), Fallback::Utf8Lossy] {
            let d = decode(format!("\u{feff}{REG_JA}").as_bytes(), fallback);
            assert_eq!(d.text, format!("\u{feff}{REG_JA}"));
            assert_eq!((d.encoding, d.lossy), (TextEncoding::Utf8, false));
        }
        let d = decode(b"", Fallback::CodePage(932));
        assert_eq!(
            (d.text.as_str(), d.encoding, d.lossy),
            ("", TextEncoding::Utf8, false)
        );
    }

    #[test]
    fn utf8_cut_inside_a_character_stays_utf8() {
        let mut bytes = REG_JA.as_bytes().to_vec();
        bytes.truncate(bytes.len() - 1);
        let d = decode(&bytes, Fallback::CodePage(932));
        assert_eq!(d.encoding, TextEncoding::Utf8);
        assert!(d.lossy);
        assert!(d.text.starts_with("エラー: 指定された"));
    }

    #[test]
    fn utf16le_with_and_without_bom() {
        for text in [
            format!("PS> Get-Module\r\n{REG_JA}\r\n"),
            format!("{REG_JA}\r\n"),
        ] {
            let mut with_bom = vec![0xFF, 0xFE];
            with_bom.extend(utf16le(&text));
            for bytes in [with_bom, utf16le(&text)] {
                let d = decode(&bytes, Fallback::CodePage(932));
                assert_eq!(d.text, text);
                assert_eq!((d.encoding, d.lossy), (TextEncoding::Utf16Le, false));
                assert_eq!(d.encoding.label(), "utf-16le");
            }
        }
        // A stray NUL in a longer UTF-8 text does not make it UTF-16.
        let stray = format!("{REG_JA}\r\nvalue: a\0b\r\n");
        let d = decode(stray.as_bytes(), Fallback::CodePage(932));
        assert_eq!((d.text, d.encoding), (stray, TextEncoding::Utf8));
        // Only on Windows: elsewhere NULs are just bytes of (valid) UTF-8.
        let d = decode(&utf16le("ok"), Fallback::Utf8Lossy);
        assert_eq!(
            (d.text.as_str(), d.encoding),
            ("o\0k\0", TextEncoding::Utf8)
        );
        // A cut code unit or a lone surrogate is flagged.
        let mut odd = utf16le("abc");
        odd.pop();
        let d = decode(&odd, Fallback::CodePage(1252));
        assert_eq!((d.encoding, d.lossy), (TextEncoding::Utf16Le, true));
        let d = decode(&[0xFF, 0xFE, 0x00, 0xD8, b'a', 0], Fallback::CodePage(1252));
        assert_eq!((d.text.as_str(), d.lossy), ("\u{FFFD}a", true));
    }

    #[test]
    fn console_and_ansi_code_pages_are_picked_per_kind() {
        let pages = CodePages {
            console_output: 65001,
            oem: 932,
            ansi: 1252,
        };
        assert_eq!(
            Decode::Console.fallback(Some(pages)),
            Fallback::CodePage(65001)
        );
        assert_eq!(Decode::Ansi.fallback(Some(pages)), Fallback::CodePage(1252));
        let no_console = CodePages {
            console_output: 0,
            ..pages
        };
        assert_eq!(
            Decode::Console.fallback(Some(no_console)),
            Fallback::CodePage(932)
        );
        assert_eq!(Decode::Console.fallback(None), Fallback::Utf8Lossy);
        assert_eq!(Decode::Ansi.fallback(None), Fallback::Utf8Lossy);
        assert_eq!(Decode::default(), Decode::Console);
    }

    #[test]
    fn code_pages_65001_and_1200_are_labelled_by_name() {
        let d = decode(b"ok\xff", Fallback::CodePage(65001));
        assert_eq!(
            (d.text.as_str(), d.encoding, d.lossy),
            ("ok\u{FFFD}", TextEncoding::Utf8, true)
        );
        assert_eq!(TextEncoding::of_code_page(1200), TextEncoding::Utf16Le);
    }

    #[test]
    fn code_pages_without_a_table_keep_ascii_and_flag_the_rest() {
        for cp in [437, 850, 20127] {
            let d = decode(b"Fehler: \x84\x94\x81 ok", Fallback::CodePage(cp));
            assert_eq!(d.text, "Fehler: \u{FFFD}\u{FFFD}\u{FFFD} ok");
            assert_eq!((d.encoding, d.lossy), (TextEncoding::CodePage(cp), true));
        }
    }

    /// The single-byte code pages of the table whose 128 high bytes are all defined (encoding_rs
    /// maps their gaps to C1 controls, as browsers do): no input is invalid there.
    const TOTAL: &[u32] = &[
        866, 1250, 1251, 1252, 1254, 1256, 1258, 10000, 10007, 20866, 21866, 28591, 28592, 28594,
        28595, 28599, 28603, 28605,
    ];

    /// Every code page of the table: what encoding_rs cannot decode is flagged, what it can is
    /// not; and each encoding that has invalid input at all is shown some.
    #[test]
    fn invalid_bytes_are_flagged_lossy_in_every_encoding() {
        let table: Vec<u32> = (0..=65535)
            .filter(|cp| encoding_of(*cp).is_some())
            .collect();
        assert!(table.len() > 30, "{table:?}");
        // Single high bytes, a lead byte before a space or at the end, escape sequences cut.
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for b in 0x80..=0xFFu8 {
            inputs.push(vec![b'a', b, b'a']);
            inputs.push(vec![b'a', b, b' ']);
            inputs.push(vec![b'a', b]);
        }
        inputs.push(b"a\x1b$B".to_vec());
        for cp in table {
            let enc = encoding_of(cp).unwrap_or(encoding_rs::UTF_8);
            let mut flagged = 0;
            for input in &inputs {
                let d = decode(input, Fallback::CodePage(cp));
                if d.encoding == TextEncoding::Utf8 && cp != 65001 {
                    continue; // valid (or cut) UTF-8 is read as such, whatever the code page
                }
                let (_, errors) = match d.encoding {
                    TextEncoding::Utf16Le => {
                        encoding_rs::UTF_16LE.decode_without_bom_handling(input)
                    }
                    _ => enc.decode_without_bom_handling(input),
                };
                assert_eq!(d.lossy, errors, "cp{cp} {input:02x?}");
                assert_eq!(d.lossy, d.text.contains('\u{FFFD}'), "cp{cp} {input:02x?}");
                flagged += usize::from(d.lossy);
            }
            if !TOTAL.contains(&cp) {
                assert!(flagged > 0, "cp{cp}: no invalid input flagged");
            }
        }
    }

    #[test]
    fn japanese_text_is_never_replaced_in_code_page_932() {
        // Every JIS X 0208 row that Shift_JIS encodes, one line at a time, round-trips.
        let line: String = ('\u{3041}'..='\u{3093}')
            .chain('\u{30A1}'..='\u{30F6}')
            .chain("漢字表記日本語環境設定証明書失敗成功".chars())
            .collect();
        let d = decode(&sjis(&line), Fallback::CodePage(932));
        assert_eq!((d.text, d.lossy), (line, false));
    }

    #[test]
    fn live_decoding_switches_to_the_code_page_at_the_first_non_utf8_byte() {
        let bytes = sjis(&format!(
            "DEBUG: cli.knack.cli: Command arguments\n{REG_JA}\n"
        ));
        // Cut everywhere, fed in two pieces and byte by byte: the same text comes out.
        for cut in 0..=bytes.len() {
            for pieces in [
                vec![&bytes[..cut], &bytes[cut..]],
                bytes.chunks(1).collect(),
            ] {
                let mut d = LiveDecoder::new(Fallback::CodePage(932));
                let mut out = Vec::new();
                for p in pieces {
                    out.extend(d.push(p));
                }
                out.extend(d.finish());
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    format!("DEBUG: cli.knack.cli: Command arguments\n{REG_JA}\n"),
                    "cut at {cut}"
                );
            }
        }
        // UTF-8 split inside a character is held, not switched.
        let text = format!("{REG_JA}\n");
        let mut d = LiveDecoder::new(Fallback::CodePage(932));
        let mut out = Vec::new();
        for b in text.as_bytes().chunks(1) {
            out.extend(d.push(b));
        }
        out.extend(d.finish());
        assert_eq!(String::from_utf8(out).unwrap(), text);
        // Elsewhere (and for a code page without a table) bytes pass unchanged.
        for fallback in [
            Fallback::Utf8Lossy,
            Fallback::CodePage(437),
            Fallback::CodePage(65001),
        ] {
            let mut d = LiveDecoder::new(fallback);
            assert_eq!(d.push(&bytes), bytes);
            assert!(d.finish().is_empty());
        }
    }
}
