//! Recording a lesson.
use crate::errors::ExecError;
use crate::exec::Item;
use crate::script::Runner;
use crate::syntax::ast::{Expr, Spanned};

pub struct Recorder {}

pub fn command(
    _runner: &mut Runner,
    _path: Option<&Spanned<Expr>>,
    _force: bool,
    _scripted: bool,
) -> Result<Vec<Item>, ExecError> {
    Err(ExecError::usage("record: not yet"))
}
