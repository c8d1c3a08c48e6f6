//! Tensor names and the topological order of the nodes.

use alloc::vec::Vec;

use super::push;
use crate::decode::model::GraphDesc;
use crate::error::{err, ErrorCode, Result};

/// Every tensor name of a graph, mapped to a dense value id (ids in first-appearance order:
/// initializers, graph inputs, node outputs).
///
/// Names are found through an open-addressing hash table (FNV-1a, linear probing), so a
/// lookup hashes the name once and compares bytes with one candidate in the usual case,
/// instead of the several full string comparisons of a binary search over names that often
/// share long prefixes (`conv2d_5/BiasAdd:0`, `conv2d_5/Relu:0`, ...).
pub(crate) struct NameTable<'a> {
    /// For each value id, its name.
    names: Vec<&'a str>,
    /// For each value id, the node producing it, or [`INITIALIZER`], [`INPUT`], or
    /// [`INITIALIZER_AND_INPUT`] for a tensor no node produces.
    producer: Vec<usize>,
    /// Value id + 1 per slot (0: empty); the length is a power of two above the name count.
    slots: Vec<u32>,
    /// The value id of every node output ([`GraphDesc::node_outputs`] order; [`NO_ID`] for
    /// an omitted one), so lowering does not look names up again.
    output_ids: Vec<u32>,
}

/// The id of an omitted (empty) name in [`NameTable::output_id`] and [`InputIds`].
pub(crate) const NO_ID: u32 = u32::MAX;

/// The value id of every node input ([`GraphDesc::node_inputs`] order; [`NO_ID`] for an
/// omitted one), resolved once by [`topological_order`].
pub(crate) type InputIds = Vec<u32>;

const INITIALIZER: usize = usize::MAX;
const INPUT: usize = usize::MAX - 1;
const INITIALIZER_AND_INPUT: usize = usize::MAX - 2;

/// 32-bit FNV-1a.
fn hash(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name.as_bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

impl<'a> NameTable<'a> {
    /// Collects initializers, inputs and node outputs; a tensor produced twice is an error (a
    /// graph input may repeat an initializer, as old IR versions write them).
    pub(crate) fn build(g: &GraphDesc<'a>) -> Result<NameTable<'a>> {
        let empty = g.initializers.iter().any(|t| t.name.is_empty())
            || g.inputs.iter().any(|i| i.name.is_empty());
        if empty {
            return Err(err(
                ErrorCode::InvalidArgument,
                "a graph tensor has no name",
            ));
        }
        let total = g
            .initializers
            .len()
            .saturating_add(g.inputs.len())
            .saturating_add(g.nodes().map(|n| n.outputs.len()).sum::<usize>());
        // Ids are stored in u32 slots; a file cannot hold that many names (each costs bytes).
        if total >= u32::MAX as usize / 2 {
            return Err(err(ErrorCode::LimitExceeded, "too many tensor names"));
        }
        let capacity = total
            .saturating_add(total / 2)
            .saturating_add(1)
            .next_power_of_two();
        let mut slots: Vec<u32> = Vec::new();
        slots.try_reserve_exact(capacity)?;
        slots.resize(capacity, 0);
        let mut names = Vec::new();
        names.try_reserve_exact(total)?;
        let mut producer = Vec::new();
        producer.try_reserve_exact(total)?;
        let mut output_ids = Vec::new();
        output_ids.try_reserve_exact(g.node_outputs().len())?;
        let mut table = NameTable {
            names,
            producer,
            slots,
            output_ids,
        };
        for t in &g.initializers {
            table.insert(t.name, INITIALIZER)?;
        }
        for i in &g.inputs {
            table.insert(i.name, INPUT)?;
        }
        for (ni, n) in g.nodes().enumerate() {
            for o in n.outputs {
                let id = if o.is_empty() {
                    NO_ID
                } else {
                    table.insert(o, ni)?
                };
                push(&mut table.output_ids, id)?;
            }
        }
        Ok(table)
    }

    /// The slot holding `name`, or the empty slot where it belongs.
    fn slot_of(&self, name: &str) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = hash(name) as usize & mask;
        // The table is never full, so the probe ends at the name or at an empty slot; the
        // bound only keeps the loop finite.
        for _ in 0..self.slots.len() {
            let id = *self.slots.get(i)?;
            if id == 0 {
                return Some(i);
            }
            if self.names.get(id as usize - 1) == Some(&name) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Adds a name with its producer (a node index, [`INITIALIZER`] or [`INPUT`]); its id.
    fn insert(&mut self, name: &'a str, by: usize) -> Result<u32> {
        let slot = self
            .slot_of(name)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "name table full"))?;
        let cell = self
            .slots
            .get_mut(slot)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "name table full"))?;
        if *cell == 0 {
            let id = self.names.len() as u32;
            *cell = id + 1;
            push(&mut self.names, name)?;
            push(&mut self.producer, by)?;
            return Ok(id);
        }
        let id = *cell as usize - 1;
        let prev = self
            .producer
            .get_mut(id)
            .ok_or_else(|| err(ErrorCode::InvalidArgument, "value id"))?;
        // An input may repeat an initializer (old IR); anything else is produced twice.
        if *prev == INITIALIZER && by == INPUT {
            *prev = INITIALIZER_AND_INPUT;
            return Ok(id as u32);
        }
        Err(err(ErrorCode::DuplicateOutput, "").with_name(name))
    }

    /// Number of distinct names.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The value id of a name.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        let id = *self.slots.get(self.slot_of(name)?)?;
        (id as usize).checked_sub(1)
    }

    /// The value id of node output `k` ([`GraphDesc::node_outputs`] order), `None` when
    /// omitted.
    pub(crate) fn output_id(&self, k: usize) -> Option<usize> {
        self.output_ids
            .get(k)
            .filter(|&&id| id != NO_ID)
            .map(|&id| id as usize)
    }

    /// The node producing a value, if any.
    fn producer(&self, id: usize) -> Option<usize> {
        self.producer
            .get(id)
            .copied()
            .filter(|&p| p < INITIALIZER_AND_INPUT)
    }
}

/// Orders the nodes so every node comes after the producers of its inputs (Kahn's algorithm,
/// keeping file order among ready nodes), and resolves every node input to its value id.
/// Cycles and unknown inputs are errors.
pub(crate) fn topological_order(
    g: &GraphDesc<'_>,
    names: &NameTable<'_>,
) -> Result<(Vec<usize>, InputIds)> {
    let n = g.node_count();
    let inputs = g.node_inputs().len();
    // One scratch allocation for the in-degrees, the edges producer -> consumer in
    // compressed rows (row starts, fill cursors, consumers) instead of four: there are at
    // most as many edges as node inputs.
    let mut scratch: Vec<usize> = Vec::new();
    // Saturating: a length that large fails to allocate.
    let scratch_len = n.saturating_mul(3).saturating_add(inputs).saturating_add(1);
    scratch.try_reserve_exact(scratch_len)?;
    scratch.resize(scratch_len, 0);
    // The splits cannot fail (the length covers them); failing would leave empty slices.
    let (indegree, rest) = scratch.split_at_mut_checked(n).unwrap_or_default();
    let (edge_count, rest) = rest.split_at_mut_checked(n + 1).unwrap_or_default();
    let (fill, edges) = rest.split_at_mut_checked(n).unwrap_or_default();
    // The value id of every node input, found once for the passes below and for lowering.
    let mut ids: InputIds = Vec::new();
    ids.try_reserve_exact(inputs)?;
    for (ci, node) in g.nodes().enumerate() {
        for name in node.inputs {
            if name.is_empty() {
                push(&mut ids, NO_ID)?;
                continue;
            }
            let id = names
                .find(name)
                .ok_or_else(|| err(ErrorCode::DanglingInput, "").with_name(name))?;
            push(&mut ids, id as u32)?;
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
    for (f, &start) in fill.iter_mut().zip(edge_count.iter()) {
        *f = start;
    }
    let mut id_of_input = ids.iter();
    for (ci, node) in g.nodes().enumerate() {
        for _ in node.inputs {
            let id = id_of_input.next().copied().unwrap_or(NO_ID);
            let p = if id == NO_ID {
                None
            } else {
                names.producer(id as usize)
            };
            if let Some(slot) = p.and_then(|p| fill.get_mut(p)) {
                if let Some(e) = edges.get_mut(*slot) {
                    *e = ci;
                }
                *slot += 1;
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
            .and_then(|i| g.node(i))
            .map_or("", |nd| nd.name);
        return Err(err(ErrorCode::GraphCycle, "").with_name(stuck));
    }
    Ok((order, ids))
}
