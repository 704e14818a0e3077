//! The command language: text in, typed statements out. No I/O here.
//!
//! `ast` holds the tree, `lex` the nom lexemes, `parser` the statement
//! grammar driven by [`crate::spec`], `error` the spans and kinds of errors, `python` the second surface
//! (the course's Python lines, parsed into the same statements), `pyprogram`
//! whether a line is Python at all, and what marks it as a whole program's
//! Python (a loop, a comparison, an index) rather than one call.

pub mod ast;
pub mod error;
mod lab;
pub mod lex;
mod parser;
mod pyprogram;
mod python;

pub use error::{ErrorKind, ParseError};
pub use parser::parse_line;
pub use python::attributes as python_attributes;
