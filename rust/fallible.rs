//! Fallible allocation helpers: every table a load builds is grown through these, so that an
//! out-of-memory load returns `OutOfMemory` instead of aborting.

#[cfg(feature = "onnx")]
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Result;

/// Appends `x`, failing instead of aborting when the vector cannot grow.
pub(crate) fn push<T>(v: &mut Vec<T>, x: T) -> Result<()> {
    v.try_reserve(1)?;
    v.push(x);
    Ok(())
}

/// Collects an iterator through fallible allocation.
pub(crate) fn try_collect<T, I: IntoIterator<Item = T>>(it: I) -> Result<Vec<T>> {
    let it = it.into_iter();
    let mut v = Vec::new();
    v.try_reserve(it.size_hint().0)?;
    for x in it {
        v.try_reserve(1)?;
        v.push(x);
    }
    Ok(v)
}

/// A copy of `s` in a vector of exactly its length.
#[cfg(feature = "onnx")]
pub(crate) fn to_vec<T: Clone>(s: &[T]) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(s.len())?;
    v.extend_from_slice(s);
    Ok(v)
}

/// A copy of `s` in a string of exactly its length.
#[cfg(feature = "onnx")]
pub(crate) fn string_of(s: &str) -> Result<String> {
    let mut out = String::new();
    out.try_reserve_exact(s.len())?;
    out.push_str(s);
    Ok(out)
}

/// `v` moved into a vector of exactly its length (no spare capacity), or `v` itself when it
/// has none.
#[cfg(feature = "onnx")]
pub(crate) fn exact<T>(mut v: Vec<T>) -> Result<Vec<T>> {
    if v.capacity() == v.len() {
        return Ok(v);
    }
    let mut out = Vec::new();
    out.try_reserve_exact(v.len())?;
    out.append(&mut v);
    Ok(out)
}
