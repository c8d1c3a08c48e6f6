//! Graph compilation: topological order, shape inference, constant folding, fusion, lowering to steps.
