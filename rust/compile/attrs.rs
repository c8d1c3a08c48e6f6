//! Typed access to a node's attributes, with ONNX defaults and type checks.

use crate::decode::model::{attr_type, AttributeDesc, Node, TensorDesc};
use crate::error::{err, Error, ErrorCode, Result};

/// The attributes of one node.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'n, 'a> {
    node: Node<'n, 'a>,
}

fn bad(name: &str) -> Error {
    err(ErrorCode::InvalidAttribute, "wrong type").with_name(name)
}

impl<'n, 'a> Attrs<'n, 'a> {
    pub(crate) fn new(node: &Node<'n, 'a>) -> Self {
        Attrs { node: *node }
    }

    /// The last attribute of that name (protobuf: later wins).
    pub(crate) fn get(&self, name: &str) -> Option<&'n AttributeDesc<'a>> {
        self.node.attributes.iter().rev().find(|a| a.name == name)
    }

    fn check(a: &AttributeDesc<'_>, want: i32, present: bool) -> Result<()> {
        if a.kind == want || (a.kind == attr_type::UNDEFINED && present) {
            Ok(())
        } else {
            Err(bad(a.name))
        }
    }

    /// An INT attribute, if present.
    pub(crate) fn int_opt(&self, name: &str) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(a) => {
                Self::check(a, attr_type::INT, a.i.is_some())?;
                Ok(Some(a.i.unwrap_or(0)))
            }
        }
    }

    /// An INT attribute with a default.
    pub(crate) fn int(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.int_opt(name)?.unwrap_or(default))
    }

    /// A FLOAT attribute, if present.
    pub(crate) fn float_opt(&self, name: &str) -> Result<Option<f32>> {
        match self.get(name) {
            None => Ok(None),
            Some(a) => {
                Self::check(a, attr_type::FLOAT, a.f.is_some())?;
                Ok(Some(a.f.unwrap_or(0.0)))
            }
        }
    }

    /// A FLOAT attribute with a default.
    pub(crate) fn float(&self, name: &str, default: f32) -> Result<f32> {
        Ok(self.float_opt(name)?.unwrap_or(default))
    }

    /// An INTS attribute, if present.
    pub(crate) fn ints(&self, name: &str) -> Result<Option<&'n [i64]>> {
        match self.get(name) {
            None => Ok(None),
            Some(a) => {
                Self::check(a, attr_type::INTS, !a.ints.is_empty())?;
                Ok(Some(self.node.ints(a)))
            }
        }
    }

    /// A FLOATS attribute, if present.
    pub(crate) fn floats(&self, name: &str) -> Result<Option<&'n [f32]>> {
        match self.get(name) {
            None => Ok(None),
            Some(a) => {
                Self::check(a, attr_type::FLOATS, !a.floats.is_empty())?;
                Ok(Some(self.node.floats(a)))
            }
        }
    }

    /// A STRING attribute, if present.
    pub(crate) fn string(&self, name: &str) -> Result<Option<&'a str>> {
        match self.get(name) {
            None => Ok(None),
            Some(a) => {
                Self::check(a, attr_type::STRING, a.s.is_some())?;
                let s = a.s.unwrap_or(&[]);
                core::str::from_utf8(s).map(Some).map_err(|_| bad(a.name))
            }
        }
    }

    /// A TENSOR attribute, if present.
    pub(crate) fn tensor(&self, name: &str) -> Result<Option<&'n TensorDesc<'a>>> {
        match self.get(name) {
            None => Ok(None),
            Some(a) => {
                Self::check(a, attr_type::TENSOR, a.t.is_some())?;
                a.t.as_deref().map(Some).ok_or_else(|| bad(a.name))
            }
        }
    }
}
