//! Lexemes, written as nom parsers over `&str`: blanks, identifiers, bare
//! tokens, string literals with Python escapes, hex literals and numbers.
//!
//! A failure that must not backtrack (an unterminated string, a bad escape)
//! is a `nom::Err::Failure` carrying our own [`ErrorKind`]; everything else
//! is a plain `Error` so alternatives can be tried.

use super::error::ErrorKind;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::{char, one_of, satisfy};
use nom::combinator::{opt, recognize};
use nom::sequence::pair;
use nom::{IResult, Parser};

/// The error type of every lexeme: where it happened, how long the bad part
/// is, and (for committed failures) what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError<'a> {
    pub at: &'a str,
    pub len: usize,
    pub kind: Option<ErrorKind>,
}

impl<'a> nom::error::ParseError<&'a str> for LexError<'a> {
    fn from_error_kind(input: &'a str, _kind: nom::error::ErrorKind) -> Self {
        LexError {
            at: input,
            len: 0,
            kind: None,
        }
    }

    fn append(_input: &'a str, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

pub type Res<'a, T> = IResult<&'a str, T, LexError<'a>>;

fn failure<T>(at: &str, len: usize, kind: ErrorKind) -> Res<'_, T> {
    Err(nom::Err::Failure(LexError {
        at,
        len,
        kind: Some(kind),
    }))
}

fn backtrack<T>(at: &str) -> Res<'_, T> {
    Err(nom::Err::Error(LexError {
        at,
        len: 0,
        kind: None,
    }))
}

/// Spaces and tabs (not newlines: they end a statement).
pub fn blanks(i: &str) -> Res<'_, &str> {
    take_while(|c| c == ' ' || c == '\t' || c == '\r').parse(i)
}

/// Spaces, tabs and carriage returns skipped (not newlines: they end a
/// statement). Here rather than in the parser so that the Python surface's
/// recogniser (`pyprogram`) needs only the lexemes.
pub fn skip_blanks(i: &str) -> &str {
    i.trim_start_matches([' ', '\t', '\r'])
}

pub fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub fn ident(i: &str) -> Res<'_, &str> {
    recognize(pair(satisfy(is_ident_start), take_while(is_ident_char))).parse(i)
}

/// Characters that end a bare token.
pub fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ';' | '&' | '"' | '\'')
}

/// A run of non-blank characters: a host name, an address, a path. It may
/// not start with `#` (that starts a comment).
pub fn bare(i: &str) -> Res<'_, &str> {
    if i.starts_with('#') {
        return backtrack(i);
    }
    take_while1(|c: char| !is_delimiter(c)).parse(i)
}

/// True when `i` (after blanks) is at the end of a statement.
pub fn at_end(i: &str) -> bool {
    let t = i.trim_start_matches([' ', '\t', '\r']);
    t.is_empty() || t.starts_with(';') || t.starts_with('\n') || t.starts_with('#')
}

/// A parsed literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Bytes(Vec<u8>),
}

/// Whether `i` may start a string literal: a quote, after at most two
/// prefix letters. A quick look before [`string_lit`], which the parser
/// would otherwise try on every statement.
pub fn starts_literal(i: &str) -> bool {
    let b = i.as_bytes();
    let k = b
        .iter()
        .take(2)
        .take_while(|c| matches!(c, b'b' | b'B' | b'r' | b'R' | b'x' | b'X'))
        .count();
    matches!(b.get(k), Some(b'"' | b'\''))
}

/// `"text"`, `'text'`, `b"bytes"`, `r"raw"`, `rb"raw"`, `x"de ad be ef"`.
pub fn string_lit(i: &str) -> Res<'_, Lit> {
    let (after_prefix, prefix) =
        take_while(|c: char| matches!(c, 'b' | 'B' | 'r' | 'R' | 'x' | 'X')).parse(i)?;
    let p = prefix.to_ascii_lowercase();
    if !matches!(p.as_str(), "" | "b" | "r" | "rb" | "br" | "x") {
        return backtrack(i);
    }
    let (body, quote) = one_of("\"'").parse(after_prefix)?;
    let raw = p.contains('r');
    let bytes = p.contains('b');
    if p == "x" {
        return hex_body(i, body, quote);
    }
    let mut out: Vec<u8> = Vec::new();
    let mut chars = body.char_indices();
    while let Some((k, c)) = chars.next() {
        if c == quote {
            let rest = &body[k + 1..];
            let lit = if bytes {
                Lit::Bytes(out)
            } else {
                // Only valid UTF-8 goes in (from &str and from \u escapes of
                // scalar values), but a \xNN in a str is a code point, which
                // we encoded as UTF-8 too; so this cannot fail. Still, fall
                // back to bytes rather than trust it blindly.
                match String::from_utf8(out) {
                    Ok(s) => Lit::Str(s),
                    Err(e) => Lit::Bytes(e.into_bytes()),
                }
            };
            return Ok((rest, lit));
        }
        if c == '\n' {
            break;
        }
        if c != '\\' || raw {
            if bytes && !c.is_ascii() {
                return failure(&body[k..], c.len_utf8(), ErrorKind::NonAsciiBytes);
            }
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        // An escape.
        let esc_at = &body[k..];
        let Some((_, e)) = chars.next() else { break };
        let simple = match e {
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            '0' => Some(0),
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(12),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            '\'' => Some(b'\''),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        match e {
            'x' => {
                // Not past the closing quote: `"\x4"` reports `\x4`.
                let hex: String = chars
                    .clone()
                    .map(|(_, c)| c)
                    .take_while(|&c| c != quote && c != '\n')
                    .take(2)
                    .collect();
                let v = (hex.len() == 2)
                    .then(|| u8::from_str_radix(&hex, 16).ok())
                    .flatten();
                let Some(v) = v else {
                    let len = 2 + hex.len();
                    return failure(
                        esc_at,
                        len.min(esc_at.len()),
                        ErrorKind::BadEscape(format!("\\x{hex}")),
                    );
                };
                chars.next();
                chars.next();
                if bytes {
                    out.push(v);
                } else {
                    // In a str, \xNN is the code point U+00NN.
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(char::from(v).encode_utf8(&mut buf).as_bytes());
                }
            }
            'u' if !bytes => {
                // Not past the closing quote: `"\u12"` reports `\u12`.
                let hex: String = chars
                    .clone()
                    .map(|(_, c)| c)
                    .take_while(|&c| c != quote && c != '\n')
                    .take(4)
                    .collect();
                let ch = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32))
                    .flatten();
                let Some(ch) = ch else {
                    return failure(
                        esc_at,
                        (2 + hex.len()).min(esc_at.len()),
                        ErrorKind::BadEscape(format!("\\u{hex}")),
                    );
                };
                for _ in 0..4 {
                    chars.next();
                }
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            _ => {
                return failure(
                    esc_at,
                    1 + e.len_utf8(),
                    ErrorKind::BadEscape(format!("\\{e}")),
                );
            }
        }
    }
    // No closing quote on this line.
    let len = i.find('\n').unwrap_or(i.len());
    failure(i, len, ErrorKind::UnterminatedString)
}

/// The body of `x"..."`: hex digit pairs, blanks allowed between bytes.
fn hex_body<'a>(start: &'a str, body: &'a str, quote: char) -> Res<'a, Lit> {
    let Some(end) = body.find([quote, '\n']) else {
        return failure(start, start.len(), ErrorKind::UnterminatedString);
    };
    if !body[end..].starts_with(quote) {
        return failure(
            start,
            start.len() - body.len() + end,
            ErrorKind::UnterminatedString,
        );
    }
    let inner = &body[..end];
    let mut out = Vec::new();
    let mut pending: Option<(usize, char)> = None;
    for (k, c) in inner.char_indices() {
        if c.is_whitespace() || c == ':' {
            if let Some((pk, _)) = pending {
                return failure(
                    &inner[pk..],
                    1,
                    ErrorKind::BadHex("an odd number of hex digits in this byte".into()),
                );
            }
            continue;
        }
        if !c.is_ascii_hexdigit() {
            return failure(
                &inner[k..],
                c.len_utf8(),
                ErrorKind::BadHex(format!("`{c}` is not a hex digit")),
            );
        }
        match pending.take() {
            None => pending = Some((k, c)),
            Some((_, h)) => {
                let v = (h.to_digit(16).unwrap_or(0) << 4) | c.to_digit(16).unwrap_or(0);
                out.push(v as u8);
            }
        }
    }
    if let Some((pk, _)) = pending {
        return failure(
            &inner[pk..],
            1,
            ErrorKind::BadHex("an odd number of hex digits".into()),
        );
    }
    Ok((&body[end + 1..], Lit::Bytes(out)))
}

/// A number literal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

/// `42`, `-1`, `0x1f`, `0o17`, `0b101`, `1_000`, `2.5`, `1e3`. A number must
/// end at a delimiter, so `127.0.0.1` is not the number 127.0.
pub fn number(i: &str) -> Res<'_, Num> {
    let (rest, text) = recognize(pair(
        opt(char('-')),
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.'),
    ))
    .parse(i)?;
    let first_digit = text.trim_start_matches('-').chars().next();
    if !first_digit.is_some_and(|c| c.is_ascii_digit()) {
        return backtrack(i);
    }
    // `1e-3`: the recognizer stopped at '-'; take the exponent's sign too.
    let (rest, text) = if (text.ends_with('e') || text.ends_with('E'))
        && (rest.starts_with('-') || rest.starts_with('+'))
        && !text.starts_with("0x")
    {
        let extra = rest[1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - 1);
        let n = text.len() + 1 + extra;
        (&i[n..], &i[..n])
    } else {
        (rest, text)
    };
    if rest
        .chars()
        .next()
        .is_some_and(|c| !is_delimiter(c) && !matches!(c, '*' | '+' | ')' | ',' | '#'))
    {
        return backtrack(i);
    }
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    if let Some(size) = size_literal(i, text, neg, digits) {
        return size.map(|(r, n)| (r, Num::Int(n)));
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let radix = [("0x", 16), ("0o", 8), ("0b", 2)]
        .iter()
        .find(|(p, _)| lower.starts_with(p));
    // Integers are parsed with their sign, so -9223372036854775808 fits.
    let sign = if neg { "-" } else { "" };
    let parsed = if let Some((p, r)) = radix {
        i64::from_str_radix(&format!("{sign}{}", &lower[p.len()..]), *r)
            .map(Num::Int)
            .ok()
    } else if lower.chars().all(|c| c.is_ascii_digit()) {
        format!("{sign}{lower}").parse::<i64>().map(Num::Int).ok()
    } else if lower.contains('.') && lower.matches('.').count() > 1 {
        // Dotted quads and the like are not numbers: let the caller take
        // them as bare words.
        return backtrack(i);
    } else {
        lower
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Num::Float)
    };
    match parsed {
        Some(Num::Int(v)) => Ok((rest, Num::Int(v))),
        Some(Num::Float(v)) => Ok((rest, Num::Float(if neg { -v } else { v }))),
        None => {
            if lower.chars().all(|c| c.is_ascii_digit()) || radix.is_some() {
                failure(
                    i,
                    text.len(),
                    ErrorKind::BadNumber(format!(
                        "`{text}` does not fit in 64 bits or is not valid"
                    )),
                )
            } else if lower.chars().any(|c| c.is_ascii_alphabetic() && c != 'e') {
                // `9900abc`: not a number; the caller may take it as a word.
                backtrack(i)
            } else {
                failure(i, text.len(), ErrorKind::BadNumber(format!("`{text}`")))
            }
        }
    }
}

/// The binary multiples a size may end with: `K` = 1024 bytes, `M` and `G`
/// (also written `KiB`, `MiB`, `GiB`; any case). `1G` is 1 GiB.
const SIZE_SUFFIXES: &[(&str, u32)] = &[
    ("kib", 10),
    ("mib", 20),
    ("gib", 30),
    ("k", 10),
    ("m", 20),
    ("g", 30),
];

/// `64K`, `1.5M`, `1G`: a number of bytes with a binary suffix. None when
/// `digits` has no such suffix (the caller goes on with plain numbers);
/// Some(Err) for a size that is written wrong (`1GB`, `0.3K`, too big).
fn size_literal<'a>(i: &'a str, text: &str, neg: bool, digits: &str) -> Option<Res<'a, i64>> {
    let lower = digits.to_ascii_lowercase();
    if lower.starts_with("0x") || lower.starts_with("0o") || lower.starts_with("0b") {
        return None;
    }
    let bad = |why: String| failure(i, text.len(), ErrorKind::BadSize(why));
    // `1GB`, `10mb`: decimal-looking units are refused rather than guessed.
    for unit in ["kb", "mb", "gb", "tb"] {
        if let Some(m) = lower.strip_suffix(unit)
            && !m.is_empty()
            && m.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '_')
        {
            let letter = unit[..1].to_ascii_uppercase();
            return Some(bad(format!(
                "`{text}`: sizes are binary, write {m}{letter} (1{letter} = 1 {letter}iB)"
            )));
        }
    }
    let (mantissa, shift) = SIZE_SUFFIXES.iter().find_map(|(suffix, shift)| {
        lower
            .strip_suffix(suffix)
            .filter(|m| !m.is_empty() && m.starts_with(|c: char| c.is_ascii_digit()))
            .map(|m| (m, *shift))
    })?;
    let clean: String = mantissa.chars().filter(|&c| c != '_').collect();
    if !clean.chars().all(|c| c.is_ascii_digit() || c == '.') || clean.matches('.').count() > 1 {
        return None;
    }
    let unit: i128 = 1 << shift;
    let bytes: Option<i128> = if clean.contains('.') {
        // A fraction must come to whole bytes: 1.5K is 1536, 0.3K is not.
        let (whole, frac) = clean.split_once('.').unwrap_or((&clean, ""));
        let scale = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
        let w: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let f: i128 = if frac.is_empty() {
            0
        } else {
            frac.parse().ok()?
        };
        let num = w.checked_mul(scale)?.checked_add(f)?.checked_mul(unit)?;
        if num % scale != 0 {
            return Some(bad(format!("`{text}` is not a whole number of bytes")));
        }
        Some(num / scale)
    } else {
        clean.parse::<i128>().ok().and_then(|n| n.checked_mul(unit))
    };
    let signed = bytes.map(|b| if neg { -b } else { b });
    Some(match signed.and_then(|b| i64::try_from(b).ok()) {
        Some(n) => Ok((&i[text.len()..], n)),
        None => bad(format!("`{text}` is too large")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Lit {
        string_lit(s).map(|(_, l)| l).expect("a literal")
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(lit(r#""hello\r\n""#), Lit::Str("hello\r\n".into()));
        assert_eq!(
            lit(r#"b"\xc0\xa8\x01\x02""#),
            Lit::Bytes(vec![0xc0, 0xa8, 1, 2])
        );
        assert_eq!(lit(r#"'it''"#), Lit::Str("it".into()));
        assert_eq!(lit(r#""\"q\"""#), Lit::Str("\"q\"".into()));
        assert_eq!(lit(r#"r"\n""#), Lit::Str("\\n".into()));
        assert_eq!(
            lit(r#"x"de ad BE ef""#),
            Lit::Bytes(vec![0xde, 0xad, 0xbe, 0xef])
        );
        assert_eq!(lit(r#""\u4f60""#), Lit::Str("你".into()));
        assert_eq!(lit(r#""你好""#), Lit::Str("你好".into()));
    }

    #[test]
    fn string_failures() {
        let kind = |s: &str| match string_lit(s) {
            Err(nom::Err::Failure(e)) => e.kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(kind(r#""abc"#), Some(ErrorKind::UnterminatedString));
        assert_eq!(kind(r#""a\qb""#), Some(ErrorKind::BadEscape("\\q".into())));
        assert_eq!(kind(r#"b"你""#), Some(ErrorKind::NonAsciiBytes));
        assert!(matches!(kind(r#"x"abc""#), Some(ErrorKind::BadHex(_))));
        assert!(matches!(kind(r#"x"zz""#), Some(ErrorKind::BadHex(_))));
    }

    #[test]
    fn numbers() {
        fn n(s: &str) -> (&str, Num) {
            number(s).expect("a number")
        }
        assert_eq!(n("42"), ("", Num::Int(42)));
        assert_eq!(n("-1 x"), (" x", Num::Int(-1)));
        assert_eq!(n("0x1F"), ("", Num::Int(31)));
        assert_eq!(n("1_000*"), ("*", Num::Int(1000)));
        assert_eq!(n("2.5"), ("", Num::Float(2.5)));
        assert_eq!(n("1e-3"), ("", Num::Float(0.001)));
        assert!(number("127.0.0.1").is_err());
        assert!(number("abc").is_err());
        assert!(number("9900abc").is_err());
        assert!(matches!(
            number("99999999999999999999"),
            Err(nom::Err::Failure(_))
        ));
    }

    #[test]
    fn sizes_are_binary_multiples() {
        fn n(s: &str) -> (&str, Num) {
            number(s).expect("a size")
        }
        assert_eq!(n("64K"), ("", Num::Int(65536)));
        assert_eq!(n("1G rest"), (" rest", Num::Int(1 << 30)));
        assert_eq!(n("1g"), ("", Num::Int(1 << 30)));
        assert_eq!(n("2MiB"), ("", Num::Int(2 << 20)));
        assert_eq!(n("1.5M"), ("", Num::Int(3 << 19)));
        assert_eq!(n("-1K"), ("", Num::Int(-1024)));
        assert_eq!(n("1_024K"), ("", Num::Int(1 << 20)));
        let kind = |s: &str| match number(s) {
            Err(nom::Err::Failure(e)) => (e.len, e.kind),
            other => panic!("{s}: {other:?}"),
        };
        assert!(matches!(kind("1GB"), (3, Some(ErrorKind::BadSize(_)))));
        assert!(matches!(kind("0.3K"), (4, Some(ErrorKind::BadSize(_)))));
        assert!(matches!(
            kind("99999999999G"),
            (12, Some(ErrorKind::BadSize(_)))
        ));
        // Not sizes: a word, hex, a float with an exponent.
        assert!(number("1x").is_err());
        assert_eq!(n("0x1f"), ("", Num::Int(31)));
        assert_eq!(n("1e3"), ("", Num::Float(1000.0)));
    }

    #[test]
    fn bare_tokens_and_ends() {
        assert_eq!(bare("0.0.0.0:9900 x"), Ok((" x", "0.0.0.0:9900")));
        assert_eq!(bare("[::1]:80;"), Ok((";", "[::1]:80")));
        assert!(bare("#c").is_err());
        assert!(at_end("  # comment"));
        assert!(at_end(" ; next"));
        assert!(!at_end(" x"));
    }
}
