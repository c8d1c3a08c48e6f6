//! Memory planning: one arena, offsets by tensor liveness.
