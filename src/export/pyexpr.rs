//! Values of the shell written as Python source: literals as Python
//! writes them, data as bytes (a str literal becomes `b'...'`, a str
//! variable `name.encode()`, as a Python program must send bytes).

use super::journal::Val;
use crate::syntax::ast::Expr;
use crate::value::{bytes_repr, str_repr};
use std::collections::HashMap;

/// What a name holds, as far as the export knows.
pub type Kinds = HashMap<String, Val>;

/// A value (an argument that is not data): Python's literal, or the name.
pub fn value(e: &Expr, kinds: &Kinds) -> String {
    match e {
        Expr::Str(s) => str_repr(s),
        Expr::Bytes(b) => bytes_repr(b),
        Expr::Int(n) => n.to_string(),
        Expr::Float(f) => float(*f),
        Expr::Bool(true) => "True".into(),
        Expr::Bool(false) => "False".into(),
        Expr::None => "None".into(),
        Expr::Var(v) => v.clone(),
        // A bare word that is not a variable is text (a host name).
        Expr::Word(w) if kinds.contains_key(w) => w.clone(),
        Expr::Word(w) => str_repr(w),
        Expr::Repeat(a, b) => format!("{} * {}", operand(&a.node, kinds), value(&b.node, kinds)),
        Expr::Concat(parts) => parts
            .iter()
            .map(|p| operand(&p.node, kinds))
            .collect::<Vec<_>>()
            .join(" + "),
        Expr::Zeros(n) => format!("bytes({})", value(&n.node, kinds)),
        Expr::Tuple(items) => tuple(items.iter().map(|i| value(&i.node, kinds)).collect()),
        Expr::Encode(x) => format!("{}.encode()", operand(&x.node, kinds)),
        Expr::Decode(x) => format!("{}.decode()", operand(&x.node, kinds)),
    }
}

/// Data to send: bytes. A str (literal or variable) is encoded as UTF-8,
/// which is what the shell sends for it.
pub fn data(e: &Expr, kinds: &Kinds) -> String {
    match e {
        Expr::Str(s) if s.is_ascii() => bytes_repr(s.as_bytes()),
        Expr::Str(s) => format!("{}.encode()", str_repr(s)),
        Expr::Var(v) | Expr::Word(v) if kinds.get(v) == Some(&Val::Str) => format!("{v}.encode()"),
        Expr::Repeat(a, b) => {
            format!(
                "{} * {}",
                data_operand(&a.node, kinds),
                value(&b.node, kinds)
            )
        }
        Expr::Concat(parts) => parts
            .iter()
            .map(|p| data_operand(&p.node, kinds))
            .collect::<Vec<_>>()
            .join(" + "),
        Expr::Decode(x) => data(&x.node, kinds),
        other => value(other, kinds),
    }
}

/// A data operand of `+` or `*`: parenthesised when it is itself a sum.
fn data_operand(e: &Expr, kinds: &Kinds) -> String {
    let s = data(e, kinds);
    if matches!(e, Expr::Concat(_) | Expr::Repeat(..)) {
        format!("({s})")
    } else {
        s
    }
}

fn operand(e: &Expr, kinds: &Kinds) -> String {
    let s = value(e, kinds);
    if matches!(e, Expr::Concat(_) | Expr::Repeat(..)) {
        format!("({s})")
    } else {
        s
    }
}

/// A tuple as Python writes it: `(a,)` for one item.
pub fn tuple(items: Vec<String>) -> String {
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(", "))
    }
}

/// A float as Python's repr writes it (`2.0`, `0.5`).
pub fn float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// An address `(host, port)` from its parts.
pub fn host_port(host: &str, port: &str) -> String {
    format!("({}, {port})", str_repr(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::Spanned;

    fn sp(e: Expr) -> Box<Spanned<Expr>> {
        Box::new(Spanned::new(e, Default::default()))
    }

    #[test]
    fn data_is_bytes_as_python_sends_it() {
        let mut k = Kinds::new();
        k.insert("msg".into(), Val::Str);
        k.insert("data".into(), Val::Bytes);
        assert_eq!(data(&Expr::Str("hi\r\n".into()), &k), r"b'hi\r\n'");
        assert_eq!(data(&Expr::Str("你好".into()), &k), "'你好'.encode()");
        assert_eq!(data(&Expr::Var("msg".into()), &k), "msg.encode()");
        assert_eq!(data(&Expr::Var("data".into()), &k), "data");
        assert_eq!(
            data(
                &Expr::Repeat(sp(Expr::Str("ab".into())), sp(Expr::Int(3))),
                &k
            ),
            "b'ab' * 3"
        );
        let cat = Expr::Concat(vec![
            *sp(Expr::Str("GET ".into())),
            *sp(Expr::Var("data".into())),
        ]);
        assert_eq!(data(&cat, &k), "b'GET ' + data");
        assert_eq!(value(&Expr::Word("localhost".into()), &k), "'localhost'");
        assert_eq!(value(&Expr::Float(2.0), &k), "2.0");
        assert_eq!(value(&Expr::Float(0.25), &k), "0.25");
    }
}
