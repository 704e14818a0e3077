//! The grammar of `lab` and `on HOST STATEMENT`.
//!
//! `lab net`'s values are checked here, so a bad one is pointed at with a
//! caret: `loss 130%`, `delay 100` (no unit), `rate fast`.

use super::ast::*;
use super::error::{ErrorKind, ParseError};
use super::lex;
use super::parser::{Parser_, skip_blanks};
use crate::spec;
use std::time::Duration;

/// Delays (and jitter) at most this long: a lesson must not hang.
const MAX_DELAY: Duration = Duration::from_secs(60);
/// The slowest rate taken (bits per second).
const MIN_RATE: u64 = 1000;

/// A value of `lab net` and why it is wrong (the caret goes under it).
fn bad(expected: &str, found: &str) -> ErrorKind {
    ErrorKind::Expected {
        expected: expected.into(),
        found: format!("`{found}`"),
        suggestion: None,
    }
}

const PERCENT: &str = "a percentage from 0% to 100% (30%)";
const TIME: &str = "a time with its unit: 100ms, 1.5s or 500us (at most 60s)";
const RATE: &str =
    "a rate with its unit: 1mbit, 64kbit, 1gbit (or bytes per second: 125kbps), at least 1kbit";

/// `30%` -> 0.3.
pub fn percent(t: &str) -> Result<f64, ErrorKind> {
    let n = t
        .strip_suffix('%')
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| n.is_finite() && (0.0..=100.0).contains(n))
        .ok_or_else(|| bad(PERCENT, t))?;
    Ok(n / 100.0)
}

/// `1.5s` -> (1.5, "s"): the number in front and the unit after it.
fn number_and_unit(t: &str) -> Option<(f64, &str)> {
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    Some((num.parse().ok()?, unit))
}

/// `100ms` -> 100 ms.
pub fn time(t: &str) -> Result<Duration, ErrorKind> {
    let (n, unit) = number_and_unit(t).ok_or_else(|| bad(TIME, t))?;
    let secs = match unit.to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" => n,
        "ms" | "msec" | "msecs" => n / 1e3,
        "us" | "usec" | "usecs" => n / 1e6,
        _ => return Err(bad(TIME, t)),
    };
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| *d <= MAX_DELAY)
        .ok_or_else(|| bad(TIME, t))
}

/// `1mbit` -> 1,000,000 bits per second (tc's units: SI multiples; `bps`
/// is bytes per second).
pub fn rate(t: &str) -> Result<u64, ErrorKind> {
    let (n, unit) = number_and_unit(t).ok_or_else(|| bad(RATE, t))?;
    let per_bit = match unit.to_ascii_lowercase().as_str() {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        "bps" => 8.0,
        "kbps" => 8e3,
        "mbps" => 8e6,
        "gbps" => 8e9,
        _ => return Err(bad(RATE, t)),
    };
    let bits = n * per_bit;
    if !bits.is_finite() || bits < MIN_RATE as f64 || bits > 1e12 {
        return Err(bad(RATE, t));
    }
    Ok(bits as u64)
}

impl<'a> Parser_<'a> {
    /// A word that names a host (checked against the lab when it runs).
    pub(super) fn host_word(&self, i: &'a str) -> Result<(&'a str, Spanned<String>), ParseError> {
        self.host_word_as(i, "a host of the lab (`lab` lists them)")
    }

    /// A word that names a host; `what` says which (one of the lab's, or
    /// a new one).
    fn host_word_as(
        &self,
        i: &'a str,
        what: &str,
    ) -> Result<(&'a str, Spanned<String>), ParseError> {
        match lex::bare(i) {
            Ok((r, w)) => Ok((r, Spanned::new(w.to_string(), self.span(i, r)))),
            Err(_) => Err(self.expected(i, what, None)),
        }
    }

    /// After `lab`: nothing, `up NAMES`, `down`, `net [HOST] SETTINGS`.
    pub(super) fn lab_args(&self, i: &'a str) -> Result<(&'a str, LabCmd), ParseError> {
        const WHAT: &str = "up, down or net (or nothing, to show the lab)";
        let (r, w) = lex::bare(i).map_err(|_| self.expected(i, WHAT, None))?;
        match w.to_ascii_lowercase().as_str() {
            "up" => {
                let mut names = Vec::new();
                let mut r = r;
                while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
                    let t = skip_blanks(r);
                    let (r2, name) = self.host_word_as(
                        t,
                        "a name for a new host: lower-case letters, digits and - (lab up a b)",
                    )?;
                    names.push(name);
                    r = r2;
                }
                if names.is_empty() {
                    return Err(self.expected(
                        r,
                        "the names of the hosts to make (lab up a b)",
                        None,
                    ));
                }
                Ok((r, LabCmd::Up(names)))
            }
            "down" => Ok((r, LabCmd::Down)),
            "net" => self.lab_net(r),
            _ => {
                let suggestion =
                    spec::nearest(w, spec::LAB_WORDS.iter().copied()).map(str::to_string);
                Err(self.expected(i, WHAT, suggestion))
            }
        }
    }

    /// `net [HOST] clear` or `net [HOST] SETTING VALUE...`.
    fn lab_net(&self, i: &'a str) -> Result<(&'a str, LabCmd), ParseError> {
        const WHAT: &str =
            "a fault (loss, delay, jitter, reorder, duplicate, rate) or clear, after a host or not";
        let mut r = skip_blanks(i);
        if lex::at_end(r) {
            return Err(self.expected(r, WHAT, None));
        }
        let is_word = |t: &str| {
            lex::bare(t)
                .is_ok_and(|(_, w)| spec::NET_WORDS.iter().any(|x| x.eq_ignore_ascii_case(w)))
        };
        let host = if is_word(r) {
            None
        } else {
            let (r2, h) = self.host_word(r)?;
            r = skip_blanks(r2);
            if lex::at_end(r) {
                return Err(self.expected(r, WHAT, None));
            }
            Some(h)
        };
        let mut settings = Vec::new();
        while !lex::at_end(r) && !skip_blanks(r).starts_with('&') {
            let t = skip_blanks(r);
            let (r2, w) = lex::bare(t).map_err(|_| self.expected(t, WHAT, None))?;
            let word = w.to_ascii_lowercase();
            if !spec::NET_WORDS.contains(&word.as_str()) {
                let suggestion =
                    spec::nearest(w, spec::NET_WORDS.iter().copied()).map(str::to_string);
                return Err(self.expected(t, WHAT, suggestion));
            }
            if word == "clear" {
                if !settings.is_empty() {
                    return Err(self.expected(
                        t,
                        "a fault: clear goes alone (lab net clear)",
                        None,
                    ));
                }
                return Ok((r2, LabCmd::Clear { host }));
            }
            let v = skip_blanks(r2);
            let need = match word.as_str() {
                "delay" | "jitter" => TIME,
                "rate" => RATE,
                _ => PERCENT,
            };
            let Ok((r3, value)) = lex::bare(v) else {
                return Err(self.expected(v, &format!("{need} after `{word}`"), None));
            };
            if lex::at_end(v) {
                return Err(self.expected(v, &format!("{need} after `{word}`"), None));
            }
            let vspan = self.span(v, r3);
            let setting = match word.as_str() {
                "loss" => percent(value).map(NetSetting::Loss),
                "reorder" => percent(value).map(NetSetting::Reorder),
                "duplicate" => percent(value).map(NetSetting::Duplicate),
                "delay" => time(value).map(NetSetting::Delay),
                "jitter" => time(value).map(NetSetting::Jitter),
                _ => rate(value).map(NetSetting::Rate),
            }
            .map_err(|k| ParseError::new(vspan, k))?;
            settings.push(Spanned::new(setting, self.span(t, r3)));
            r = r3;
        }
        Ok((r, LabCmd::Net { host, settings }))
    }

    /// After `on HOST`: one statement of its own (targets, `&` and all).
    pub(super) fn inner_statement(
        &self,
        i: &'a str,
    ) -> Result<(&'a str, Box<Statement>), ParseError> {
        if lex::at_end(i) {
            return Err(self.expected(
                i,
                "a statement to run on the host (on b s = socket tcp)",
                None,
            ));
        }
        let (r, stmt) = self.statement(i)?;
        Ok((r, Box::new(stmt)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_tc_writes_them() {
        assert_eq!(percent("30%").ok(), Some(0.3));
        assert_eq!(percent("0.5%").ok(), Some(0.005));
        assert!(percent("30").is_err());
        assert!(percent("130%").is_err());
        assert!(percent("-1%").is_err());
        assert_eq!(time("100ms").ok(), Some(Duration::from_millis(100)));
        assert_eq!(time("1.5s").ok(), Some(Duration::from_millis(1500)));
        assert_eq!(time("250us").ok(), Some(Duration::from_micros(250)));
        assert!(time("100").is_err());
        assert!(time("61s").is_err());
        assert!(time("ms").is_err());
        assert_eq!(rate("1mbit").ok(), Some(1_000_000));
        assert_eq!(rate("64kbit").ok(), Some(64_000));
        assert_eq!(rate("125kbps").ok(), Some(1_000_000));
        assert!(rate("10bit").is_err());
        assert!(rate("fast").is_err());
    }
}
