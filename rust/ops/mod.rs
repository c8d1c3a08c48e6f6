//! Operator kernels over plain slices, one file per operator family.
