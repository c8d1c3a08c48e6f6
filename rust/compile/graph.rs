//! Tensor names and the topological order of the nodes.

use alloc::vec::Vec;

use super::push;
use crate::decode::model::GraphDesc;
use crate::error::{err, ErrorCode, Result};

/// Every tensor name of a graph, mapped to a dense value id.
pub(crate) struct NameTable<'a> {
    /// (name, id), sorted by name.
    sorted: Vec<(&'a str, usize)>,
    /// For each value id, the node producing it (`usize::MAX` for inputs and initializers).
    producer: Vec<usize>,
}

const NO_NODE: usize = usize::MAX;

impl<'a> NameTable<'a> {
    /// Collects initializers, inputs and node outputs; a tensor produced twice is an error.
    pub(crate) fn build(g: &GraphDesc<'a>) -> Result<NameTable<'a>> {
        let mut entries: Vec<(&'a str, usize, u8)> = Vec::new(); // name, producer, kind
        let total = g.initializers.len()
            + g.inputs.len()
            + g.nodes.iter().map(|n| n.outputs.len()).sum::<usize>();
        entries.try_reserve_exact(total)?;
        for t in &g.initializers {
            entries.push((t.name, NO_NODE, 0));
        }
        for i in &g.inputs {
            entries.push((i.name, NO_NODE, 1));
        }
        for (ni, n) in g.nodes.iter().enumerate() {
            for o in n.outputs.iter().filter(|o| !o.is_empty()) {
                entries.push((o, ni, 2));
            }
        }
        for (name, _, _) in &entries {
            if name.is_empty() {
                return Err(err(
                    ErrorCode::InvalidArgument,
                    "a graph tensor has no name",
                ));
            }
        }
        // By name, then kind, then producer: a total order.
        crate::plan::heap_sort(&mut entries, |a, b| (a.0, a.2, a.1) < (b.0, b.2, b.1));
        let mut sorted = Vec::new();
        sorted.try_reserve_exact(entries.len())?;
        let mut producer = Vec::new();
        producer.try_reserve_exact(entries.len())?;
        let mut i = 0;
        while let Some(&(name, prod, kind)) = entries.get(i) {
            let mut j = i + 1;
            let mut producer_here = if kind == 2 { prod } else { NO_NODE };
            let mut kinds = 1u8 << kind;
            while let Some(&(n2, p2, k2)) = entries.get(j) {
                if n2 != name {
                    break;
                }
                // An input may repeat an initializer (old IR); anything else is produced twice.
                let bit = 1u8 << k2;
                if kinds & bit != 0 || k2 == 2 {
                    return Err(err(ErrorCode::DuplicateOutput, "").with_name(name));
                }
                kinds |= bit;
                if k2 == 2 {
                    producer_here = p2;
                }
                j += 1;
            }
            let id = sorted.len();
            sorted.push((name, id));
            producer.push(producer_here);
            i = j;
        }
        Ok(NameTable { sorted, producer })
    }

    /// Number of distinct names.
    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The value id of a name.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.sorted
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .and_then(|i| self.sorted.get(i))
            .map(|&(_, id)| id)
    }

    /// The node producing a value, if any.
    fn producer(&self, id: usize) -> Option<usize> {
        self.producer.get(id).copied().filter(|&p| p != NO_NODE)
    }
}

/// Orders the nodes so every node comes after the producers of its inputs (Kahn's algorithm,
/// keeping file order among ready nodes). Cycles and unknown inputs are errors.
pub(crate) fn topological_order(g: &GraphDesc<'_>, names: &NameTable<'_>) -> Result<Vec<usize>> {
    let n = g.nodes.len();
    let mut indegree: Vec<usize> = Vec::new();
    indegree.try_reserve_exact(n)?;
    indegree.resize(n, 0);
    // Edges producer -> consumer in compressed rows.
    let mut edge_count: Vec<usize> = Vec::new();
    edge_count.try_reserve_exact(n + 1)?;
    edge_count.resize(n + 1, 0);
    for (ci, node) in g.nodes.iter().enumerate() {
        for name in node.inputs.iter().filter(|s| !s.is_empty()) {
            let id = names
                .find(name)
                .ok_or_else(|| err(ErrorCode::DanglingInput, "").with_name(name))?;
            if let Some(p) = names.producer(id) {
                if p == ci {
                    return Err(err(ErrorCode::GraphCycle, "node reads its own output")
                        .with_name(node.name));
                }
                if let Some(c) = edge_count.get_mut(p + 1) {
                    *c += 1;
                }
                if let Some(d) = indegree.get_mut(ci) {
                    *d += 1;
                }
            }
        }
    }
    for i in 0..n {
        let prev = edge_count.get(i).copied().unwrap_or(0);
        if let Some(c) = edge_count.get_mut(i + 1) {
            *c += prev;
        }
    }
    let total = edge_count.get(n).copied().unwrap_or(0);
    let mut edges: Vec<usize> = Vec::new();
    edges.try_reserve_exact(total)?;
    edges.resize(total, 0);
    let mut fill: Vec<usize> = Vec::new();
    fill.try_reserve_exact(n)?;
    fill.extend_from_slice(edge_count.get(..n).unwrap_or(&[]));
    for (ci, node) in g.nodes.iter().enumerate() {
        for name in node.inputs.iter().filter(|s| !s.is_empty()) {
            if let Some(p) = names.find(name).and_then(|id| names.producer(id)) {
                if let Some(slot) = fill.get_mut(p) {
                    if let Some(e) = edges.get_mut(*slot) {
                        *e = ci;
                    }
                    *slot += 1;
                }
            }
        }
    }
    // Ready queue in file order: a FIFO over `order` itself.
    let mut order: Vec<usize> = Vec::new();
    order.try_reserve_exact(n)?;
    for (i, d) in indegree.iter().enumerate() {
        if *d == 0 {
            order.push(i);
        }
    }
    let mut head = 0;
    while let Some(&p) = order.get(head) {
        head += 1;
        let start = edge_count.get(p).copied().unwrap_or(0);
        let end = edge_count.get(p + 1).copied().unwrap_or(start);
        for &c in edges.get(start..end).unwrap_or(&[]) {
            if let Some(d) = indegree.get_mut(c) {
                *d -= 1;
                if *d == 0 {
                    push(&mut order, c)?;
                }
            }
        }
    }
    if order.len() != n {
        let stuck = indegree
            .iter()
            .position(|d| *d > 0)
            .and_then(|i| g.nodes.get(i))
            .map_or("", |nd| nd.name);
        return Err(err(ErrorCode::GraphCycle, "").with_name(stuck));
    }
    Ok(order)
}
