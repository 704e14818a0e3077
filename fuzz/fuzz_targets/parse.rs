//! The parser on any bytes: they are read as a lossy UTF-8 string (as
//! scripts and piped stdin are), and `parse_line` must return, never
//! panic; every span must lie within the input, on char boundaries, and
//! an error must render (message, source line, carets) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockplay::render::{self, Origin};
use sockplay::syntax::ast::Span;
use sockplay::syntax::parse_line;

/// A span inside `src`, on char boundaries.
fn check(what: &str, span: Span, src: &str) {
    assert!(
        span.start <= span.end && span.end <= src.len(),
        "{what} span {}..{} outside the input of {} bytes",
        span.start,
        span.end,
        src.len()
    );
    assert!(
        src.is_char_boundary(span.start) && src.is_char_boundary(span.end),
        "{what} span {}..{} not on char boundaries",
        span.start,
        span.end
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let src: &str = &text;
    match parse_line(src) {
        Ok(stmts) => {
            for st in &stmts {
                check("statement", st.span, src);
                check("command", st.command_span, src);
                for t in &st.targets {
                    check("target", t.span, src);
                }
            }
        }
        Err(e) => {
            check("error", e.span, src);
            let msg = e.to_string();
            assert!(!msg.is_empty(), "an empty message for {:?}", e.kind);
            let origin = Origin {
                file: Some("fuzz.sp"),
                line: 1,
                text: src,
            };
            let shown = render::parse_error(&e, &origin);
            assert!(!shown.is_empty());
        }
    }
});
