//! Last-writer-wins: of all the records of one row identity (the envelope's
//! `resource_ari`), the one with the greatest `(generation, version)` wins.
//!
//! Ties are broken deterministically, so any order and any duplication of the
//! same records give the same winner:
//! 1. a tombstone beats a live record of the same (generation, version) — a delete
//!    is final, and a late update at the same version cannot resurrect the row;
//! 2. then the greater bytes (lexicographically): the raw record in step 1, the
//!    row's encoded columns in the merge step — two different payloads under one
//!    version are a producer bug, but every replica must still pick the same one.
//!
//! Pure: no I/O, no clock.

use foldhash::HashMap;
use std::cmp::Ordering;

/// What LWW needs to know of a record.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// The row identity (the resource ARI's bytes in step 1; a model's key
    /// columns, row-encoded, in the merge step).
    pub key: &'a [u8],
    pub generation: i64,
    pub version: i64,
    pub is_tombstone: bool,
    /// The record's raw bytes: the last tie-breaker.
    pub bytes: &'a [u8],
}

/// How two candidates of one key compare: `Greater` means `a` wins.
pub fn compare(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    (a.generation, a.version, a.is_tombstone)
        .cmp(&(b.generation, b.version, b.is_tombstone))
        .then_with(|| a.bytes.cmp(b.bytes))
}

/// The indices of the winners in `candidates`, one per key, in index order.
pub fn winners(candidates: &[Candidate<'_>]) -> Vec<usize> {
    // foldhash: keys come from our own data, and SipHash was a tenth of step 1's batch time.
    let mut best: HashMap<&[u8], usize> = HashMap::with_capacity_and_hasher(candidates.len(), Default::default());
    for (i, c) in candidates.iter().enumerate() {
        best.entry(c.key)
            .and_modify(|w| {
                if compare(c, &candidates[*w]) == Ordering::Greater {
                    *w = i;
                }
            })
            .or_insert(i);
    }
    let mut out: Vec<usize> = best.into_values().collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    struct Rec {
        key: u8,
        generation: i64,
        version: i64,
        tombstone: bool,
        payload: u8,
    }

    fn rec() -> impl Strategy<Value = Rec> {
        (0u8..6, 0i64..3, 0i64..5, any::<bool>(), 0u8..4).prop_map(|(key, generation, version, tombstone, payload)| {
            Rec { key, generation, version, tombstone, payload }
        })
    }

    /// The winning records, as comparable values, of a batch.
    fn outcome(records: &[Rec]) -> Vec<(String, i64, i64, bool, Vec<u8>)> {
        let keys: Vec<String> = records.iter().map(|r| format!("ari:{}", r.key)).collect();
        let bytes: Vec<Vec<u8>> = records.iter().map(|r| vec![r.key, r.payload, u8::from(r.tombstone)]).collect();
        let cands: Vec<Candidate<'_>> = records
            .iter()
            .enumerate()
            .map(|(i, r)| Candidate {
                key: keys[i].as_bytes(),
                generation: r.generation,
                version: r.version,
                is_tombstone: r.tombstone,
                bytes: &bytes[i],
            })
            .collect();
        let mut out: Vec<_> = winners(&cands)
            .into_iter()
            .map(|i| {
                (keys[i].clone(), records[i].generation, records[i].version, records[i].tombstone, bytes[i].clone())
            })
            .collect();
        out.sort();
        out
    }

    /// The oracle: per key, the maximum under the documented order.
    fn oracle(records: &[Rec]) -> Vec<(String, i64, i64, bool, Vec<u8>)> {
        let mut best: std::collections::BTreeMap<u8, &Rec> = std::collections::BTreeMap::new();
        for r in records {
            let key = |r: &Rec| (r.generation, r.version, r.tombstone, vec![r.key, r.payload, u8::from(r.tombstone)]);
            if best.get(&r.key).is_none_or(|b| key(r) > key(b)) {
                best.insert(r.key, r);
            }
        }
        best.values()
            .map(|r| {
                (
                    format!("ari:{}", r.key),
                    r.generation,
                    r.version,
                    r.tombstone,
                    vec![r.key, r.payload, u8::from(r.tombstone)],
                )
            })
            .collect()
    }

    proptest! {
        /// Any permutation and any duplication of the same records converges to
        /// the oracle's winners.
        #[test]
        fn any_order_and_duplication_converges(
            records in proptest::collection::vec(rec(), 0..40),
            seed in any::<u64>(),
            dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let expected = oracle(&records);
            prop_assert_eq!(outcome(&records), expected.clone());
            let mut shuffled = records.clone();
            for d in &dups {
                if !records.is_empty() {
                    shuffled.push(records[d.index(records.len())].clone());
                }
            }
            // A deterministic shuffle from the seed.
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                shuffled.swap(i, (state % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(outcome(&shuffled), expected);
        }
    }

    #[test]
    fn a_tombstone_is_never_resurrected_by_an_older_or_equal_update() {
        let c = |v: i64, t: bool, b: &'static [u8]| Candidate {
            key: b"k",
            generation: 1,
            version: v,
            is_tombstone: t,
            bytes: b,
        };
        let recs = [c(5, true, b"a"), c(4, false, b"z"), c(5, false, b"zz")];
        assert_eq!(winners(&recs), [0]);
        // A newer generation (an explicit resurrection) does win.
        let newer = Candidate { generation: 2, version: 1, ..c(1, false, b"b") };
        assert_eq!(winners(&[recs[0], newer]), [1]);
    }
}
