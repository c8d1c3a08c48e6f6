//! C API (extern "C" functions exported from the staticlib).
