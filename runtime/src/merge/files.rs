//! Finding and retiring the stored rows a batch replaces, reading only the
//! files that can hold them: a file is read when its partition values are among
//! the batch's and its key statistics (min/max of the first key column) cover
//! one of the batch's keys. The caller commits the retirements with the new rows.
//!
//! Three steps: `find` reads the key and stamp columns of those files — on
//! tables laid out for lookups (`lake::Lookup`), only the pages whose key
//! bounds may hold one of the batch's keys, walked without building Arrow
//! arrays, and the stamps of the matched rows alone (`Table::rows_holding`)
//! — and returns the stored rows of the batch's keys (position, stamp); the writer
//! decides which it replaces (whole rows are read only for equal stamps);
//! `retire` retires them, by the table's feature:
//! - deletion vectors: the replaced rows are marked in the file's deletion
//!   vector (the file is re-added with it). Cost: the batch, plus the key and
//!   stamp columns of the pages it touches;
//! - copy-on-write (a table created without them): a file with replaced rows
//!   is removed and its other rows written again.

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use futures::StreamExt as _;

use arrow_array::RecordBatch;
use deltalake::kernel::Action;
use roaring::RoaringTreemap;

use super::MergeError;
use crate::lake::{Below, DataFile, KeyValues, Lookup, Matches, Scope, Table};

/// A partition's values, in the order of the table's partition columns.
type Partition = Vec<Option<String>>;

/// What `find` reads of each stored row besides its position and key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamps {
    /// Its stamp.
    All,
    /// Its stamp, unless the page index proves it older than the probed
    /// row of its key (`Stored::stamp` is then `None`): all a merge needs.
    UnlessOlder,
    /// Nothing (`Stored::stamp` is `None`).
    None,
}

/// The keys a batch touches, and what prunes the files to read.
pub struct Probe {
    /// The columns keys are made of (row-encoded).
    columns: Vec<String>,
    stamps: Stamps,
    /// Each key's row of the batch (the last, if several), found by the
    /// key's bytes in `encoded`: the table holds rows, not copies of keys.
    keys: hashbrown::HashTable<usize>,
    /// The batch's keys, row-encoded, by row.
    encoded: arrow_row::Rows,
    hasher: foldhash::fast::RandomState,
    partition_columns: Vec<String>,
    /// The partitions of the keys, each with its keys' first column.
    partitions: HashMap<Partition, Arc<PartitionKeys>>,
}

/// One partition's keys, by their first column: what prunes its files, their
/// pages and their rows (`None` for a type whose statistics are not compared).
struct PartitionKeys {
    lookup: Option<Lookup>,
    /// Per lookup value, the batch row `keys` holds for it — when the key is
    /// that one column and no key is in two partitions. A row the page walk
    /// finds is then mapped to its batch row by the value's place alone,
    /// without encoding its key and hashing it (random reads over the
    /// batch's keys: at 100k keys, 12–17 ms of a merge on one core).
    rows: Option<Vec<usize>>,
}

impl Probe {
    /// The keys (`columns`, row-encoded) of `rows` of `batch`; `stamps`
    /// says what `find` reads of their stored rows (for
    /// [`Stamps::UnlessOlder`], `batch` has the stamp columns and holds a
    /// key's newest row).
    pub fn new(
        batch: &RecordBatch,
        columns: &[&str],
        partition_columns: &[String],
        rows: &[usize],
        stamps: Stamps,
    ) -> Result<Probe, MergeError> {
        let encoded = super::rows::encode_columns(batch, columns)?;
        let hasher = foldhash::fast::RandomState::default();
        let mut keys = hashbrown::HashTable::with_capacity(rows.len());
        for &i in rows {
            let key = encoded.row(i).data();
            let same = |&j: &usize| encoded.row(j).data() == key;
            let rehash = |&j: &usize| hasher.hash_one(encoded.row(j).data());
            match keys.entry(hasher.hash_one(key), same, rehash) {
                hashbrown::hash_table::Entry::Occupied(mut row) => *row.get_mut() = i,
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
        let partition_strings =
            partition_columns.iter().map(|c| super::rows::as_strings(batch, c)).collect::<Result<Vec<_>, _>>()?;
        let mut by_partition: foldhash::HashMap<Vec<Option<&str>>, Vec<usize>> = Default::default();
        for &i in rows {
            by_partition.entry(partition_strings.iter().map(|p| p[i].as_deref()).collect()).or_default().push(i);
        }
        let first = batch.column_by_name(columns[0]).expect("encode_columns checked it");
        let incoming = match stamps {
            Stamps::UnlessOlder => Some(super::rows::stamps(batch)?),
            _ => None,
        };
        let mut partitions: HashMap<Partition, PartitionKeys> = by_partition
            .into_iter()
            .map(|(partition, rows)| {
                let partition: Partition = partition.into_iter().map(|v| v.map(str::to_string)).collect();
                let mut by_value = None;
                let lookup = KeyValues::of(first, &rows).map(|values| {
                    let places = values.places(first, &rows);
                    if let (Some(places), [_]) = (&places, columns) {
                        // The last row of each value, as `keys` has it.
                        let mut last = vec![0; values.len()];
                        for (&i, place) in rows.iter().zip(places) {
                            if let Some(k) = place {
                                last[*k] = i;
                            }
                        }
                        by_value = Some(last);
                    }
                    let below = match (&incoming, &places) {
                        (Some(stamps), Some(places)) => below(&rows, places, values.len(), stamps, columns),
                        _ => None,
                    };
                    Lookup { column: columns[0].to_string(), values, below }
                });
                (partition, PartitionKeys { lookup, rows: by_value })
            })
            .collect();
        // A key in two partitions has one row in `keys`, and one per partition here.
        let in_partitions: usize = partitions.values().filter_map(|p| p.rows.as_ref().map(Vec::len)).sum();
        if in_partitions != keys.len() {
            partitions.values_mut().for_each(|p| p.rows = None);
        }
        Ok(Probe {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            stamps,
            keys,
            encoded,
            hasher,
            partition_columns: partition_columns.to_vec(),
            partitions: partitions.into_iter().map(|(p, k)| (p, Arc::new(k))).collect(),
        })
    }

    /// The scope of the commit that writes `new_rows` after this probe's
    /// reads: the partitions of the probed keys and of the new rows.
    pub fn scope(&self, new_rows: &RecordBatch) -> Result<Scope, MergeError> {
        let mut partitions: std::collections::HashSet<_> = self.partitions.keys().cloned().collect();
        let values = self
            .partition_columns
            .iter()
            .map(|c| super::rows::as_strings(new_rows, c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut new: foldhash::HashSet<Vec<Option<&str>>> = Default::default();
        for i in 0..new_rows.num_rows() {
            new.insert(values.iter().map(|v| v[i].as_deref()).collect());
        }
        partitions.extend(new.into_iter().map(|p| p.into_iter().map(|v| v.map(str::to_string)).collect()));
        Ok(Scope { partitions })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The batch row holding `key` (row-encoded), if the batch has it.
    fn row_of(&self, key: &[u8]) -> Option<usize> {
        self.keys.find(self.hasher.hash_one(key), |&j| self.encoded.row(j).data() == key).copied()
    }

    /// The keys of `file`'s partition, if the file can hold one of them.
    fn keys_for(&self, file: &DataFile) -> Option<Arc<PartitionKeys>> {
        let partition: Partition =
            self.partition_columns.iter().map(|c| file.partition_values.get(c).cloned().flatten()).collect();
        let keys = self.partitions.get(&partition)?;
        keys.lookup.as_ref().is_none_or(|l| l.may_hold(file)).then(|| Arc::clone(keys))
    }
}

/// The bound under which a stored row of a partition's `values` count
/// lookup values (`places`: each of `rows`' place among them; the batch's
/// stamps are `stamps`) is older than the batch's: per value, the least
/// (generation, version) of the batch's rows holding it (keys of several
/// columns may share a first one). Text values only, which is what
/// page-level lookups read.
fn below(
    rows: &[usize],
    places: &[Option<usize>],
    values: usize,
    stamps: &[(i64, i64, bool)],
    key: &[&str],
) -> Option<Below> {
    let mut least: Vec<Option<(i64, i64)>> = vec![None; values];
    for (&i, &at) in rows.iter().zip(places) {
        if let Some(at) = at {
            let stamp = (stamps[i].0, stamps[i].1);
            least[at] = Some(least[at].map_or(stamp, |b| b.min(stamp)));
        }
    }
    // Every value is some row's (`values` are the rows'); a value without
    // one would have no bound, so then nothing is left unread.
    let bounds = least.into_iter().collect::<Option<Vec<_>>>()?;
    let [g, v, _] = super::rows::STAMP;
    let unread = super::rows::STAMP.iter().filter(|c| !key.contains(c)).map(|c| c.to_string()).collect();
    Some(Below { order: [g.to_string(), v.to_string()], bounds, unread })
}

/// Files read at once by `find`.
const READ_AHEAD: usize = 4;

/// A stored row whose key the probe asks for.
pub struct Stored<'p> {
    /// The row's position in its file (what a deletion vector marks).
    pub position: u64,
    /// The key, row-encoded (the probe's copy).
    pub key: &'p [u8],
    /// The row of the probed batch with this key.
    pub row: usize,
    /// (generation, version, tombstone): which version of its record it is;
    /// `None` when not read (see [`Stamps`]).
    pub stamp: Option<(i64, i64, bool)>,
}

/// A file holding stored rows of the probe's keys.
pub struct Holding<'p> {
    pub file: DataFile,
    /// The rows its deletion vector already marks.
    deleted: RoaringTreemap,
    pub rows: Vec<Stored<'p>>,
}

/// The stored rows of `probe`'s keys, per file, reading only files that may
/// hold one and of those only the key and stamp columns: memory and decoding
/// follow the keys' columns, not the rows. Also returns how many files it read.
pub async fn find<'p>(table: &Table, probe: &'p Probe) -> Result<(Vec<Holding<'p>>, usize), MergeError> {
    let mut out = Vec::new();
    if probe.is_empty() {
        return Ok((out, 0));
    }
    let keys: Vec<&str> = probe.columns.iter().map(String::as_str).collect();
    let columns = match probe.stamps {
        Stamps::None => keys.clone(),
        Stamps::All | Stamps::UnlessOlder => super::rows::key_and_stamp(&keys),
    };
    let columns: Vec<String> = columns.into_iter().map(str::to_string).collect();
    let columns = Arc::new(columns);
    let files: Vec<(DataFile, Arc<PartitionKeys>)> =
        table.files().await?.into_iter().filter_map(|f| probe.keys_for(&f).map(|k| (f, k))).collect();
    let files_read = files.len();
    // Each file is read, decoded and filtered down to the rows that may hold
    // a key as a task of its own, so on a multi-thread runtime that CPU work
    // uses every core; results come in file order.
    let reader = table.reader()?;
    let mut reads = futures::stream::iter(files.into_iter().map(|(file, partition_keys)| {
        let (reader, columns) = (reader.clone(), Arc::clone(&columns));
        tokio::spawn(async move {
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            let read = match &partition_keys.lookup {
                Some(lookup) => reader.rows_holding(&file, &columns, lookup).await,
                None => reader.live_keys(&file, &columns).await.map(|(rows, positions, deleted)| {
                    let decoded = rows.num_rows();
                    let unread = vec![false; decoded];
                    Matches { rows, positions, deleted, decoded, unread, keys: None }
                }),
            };
            (file, partition_keys, read)
        })
    }))
    .buffered(READ_AHEAD);
    let mut decoded = 0;
    while let Some(joined) = reads.next().await {
        let (file, partition_keys, read) = joined.map_err(|e| MergeError::Model(format!("a read task failed: {e}")))?;
        let Matches { rows: candidates, positions, deleted, decoded: n, unread, keys: places } = read?;
        decoded += n;
        // Each row's batch row: by its key's place when the page walk gave
        // it (see `PartitionKeys::rows`), else by its encoded key.
        let batch_rows: Vec<Option<usize>> = match places.as_deref().zip(partition_keys.rows.as_deref()) {
            Some((places, by_value)) => places.iter().map(|&k| Some(by_value[k])).collect(),
            None => {
                let encoded = super::rows::encode_columns(&candidates, &keys)?;
                (0..positions.len()).map(|c| probe.row_of(encoded.row(c).data())).collect()
            }
        };
        let mut stamps = None;
        let mut rows = Vec::new();
        for (c, &position) in positions.iter().enumerate() {
            let Some(row) = batch_rows[c] else { continue };
            let key = probe.encoded.row(row).data();
            let stamp = if probe.stamps == Stamps::None || unread[c] {
                None
            } else {
                let stamps = match &mut stamps {
                    Some(s) => s,
                    None => stamps.insert(super::rows::stamps(&candidates)?),
                };
                Some(stamps[c])
            };
            rows.push(Stored { position, key, row, stamp });
        }
        if !rows.is_empty() {
            out.push(Holding { file, deleted, rows });
        }
    }
    tracing::debug!(table = %table.name(), files_read, rows_decoded = decoded, "found stored rows");
    Ok((out, files_read))
}

/// The whole stored rows at `positions` (ascending) of a holding's file — to
/// tell apart rows whose stamps are equal, by content.
pub async fn content(table: &Table, holding: &Holding<'_>, positions: &[u64]) -> Result<RecordBatch, MergeError> {
    Ok(table.rows_at(&holding.file, positions).await?)
}

/// What retiring replaced rows takes: the actions for the commit that adds
/// their replacements. With copy-on-write, the surviving rows of every
/// rewritten file are already staged in the table (`Table::stage`) and that
/// commit adds them.
#[derive(Default)]
pub struct Retired {
    pub actions: Vec<Action>,
    /// Files rewritten or marked.
    pub files_changed: usize,
}

/// Retires the rows at the given positions of each holding's file: marked in
/// its deletion vector when the table has the feature, else by rewriting the
/// file without them (memory: one file at a time).
pub async fn retire(
    table: &Table,
    probe: &Probe,
    replaced: Vec<(Holding<'_>, Vec<u64>)>,
) -> Result<Retired, MergeError> {
    let replaced: Vec<_> = replaced.into_iter().filter(|(_, p)| !p.is_empty()).collect();
    let mut out = Retired { files_changed: replaced.len(), ..Retired::default() };
    if table.has_deletion_vectors()? {
        let marks = replaced
            .into_iter()
            .map(|(h, positions)| {
                let mut vector = h.deleted;
                vector.extend(positions);
                (h.file, vector)
            })
            .collect();
        out.actions = table.mark(marks).await?;
        return Ok(out);
    }
    for (h, positions) in replaced {
        let gone: RoaringTreemap = positions.into_iter().collect();
        // The live rows' positions (a key column is the narrowest read that gives them).
        let (_, live, _) = table.live_keys(&h.file, &[probe.columns[0].as_str()]).await?;
        let survivors: Vec<u64> = live.into_iter().filter(|p| !gone.contains(*p)).collect();
        if !survivors.is_empty() {
            table.stage(&table.rows_at(&h.file, &survivors).await?).await?;
        }
        out.actions.push(Action::Remove(h.file.remove));
    }
    Ok(out)
}

/// Per key, the stamp (generation, version, tombstone) of the stored row: how
/// the entity's main table says which version of a record is current.
/// `probe` reads [`Stamps::All`].
pub async fn stamps(table: &Table, probe: &Probe) -> Result<HashMap<Vec<u8>, (i64, i64, bool)>, MergeError> {
    debug_assert_eq!(probe.stamps, Stamps::All);
    let (holdings, _) = find(table, probe).await?;
    Ok(holdings.iter().flat_map(|h| h.rows.iter().filter_map(|r| Some((r.key.to_vec(), r.stamp?)))).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch, StringArray};

    use super::{Probe, Stamps, below};
    use crate::lake::KeyValues;

    /// Keys of two columns may share the first, which is all a page lookup
    /// sees: its bound is the least stamp of the batch's rows holding it.
    #[test]
    fn a_shared_first_key_column_is_bounded_by_its_oldest_row() {
        let first: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), Some("y"), Some("x"), None]));
        let stamps = [(1, 5, false), (2, 0, true), (1, 3, false), (9, 9, false)];
        let rows = [0, 1, 2, 3];
        let values = KeyValues::of(&first, &rows).unwrap();
        let places = values.places(&first, &rows).unwrap();
        let below = below(&rows, &places, values.len(), &stamps, &["a", "b"]).unwrap();
        assert_eq!(values, KeyValues::Strings(vec!["x".into(), "y".into()]));
        assert_eq!(below.bounds, [(1, 3), (2, 0)]);
        assert_eq!(below.order, [super::super::rows::GENERATION, super::super::rows::VERSION].map(String::from));
        assert_eq!(below.unread, super::super::rows::STAMP.map(String::from));
        // A key column among the stamps is read whatever the bound.
        let below = below_of(&first, &stamps, super::super::rows::VERSION);
        assert!(!below.unread.iter().any(|c| c == super::super::rows::VERSION));
    }

    /// The probe finds each key's batch row (the last of several) by the
    /// key's bytes, for keys of one column and of two; and it maps found rows
    /// by place only when no key is in two partitions.
    #[test]
    fn the_probe_finds_each_keys_last_row() {
        let batch = RecordBatch::try_from_iter([
            ("k", Arc::new(StringArray::from(vec!["a", "b", "a", "c", "b"])) as ArrayRef),
            ("n", Arc::new(arrow_array::Int64Array::from(vec![1, 1, 1, 2, 1])) as ArrayRef),
            ("ws", Arc::new(StringArray::from(vec!["w1", "w1", "w1", "w1", "w2"])) as ArrayRef),
        ])
        .unwrap();
        let all = [0, 1, 2, 3, 4];
        let partitions = ["ws".to_string()];
        let key_of = |columns: &[&str], row: usize| {
            super::super::rows::encode_columns(&batch, columns).unwrap().row(row).data().to_vec()
        };
        for columns in [&["k"][..], &["k", "n"]] {
            let probe = Probe::new(&batch, columns, &partitions, &all, Stamps::None).unwrap();
            assert_eq!(probe.row_of(&key_of(columns, 0)), Some(2), "{columns:?}: `a` twice, the last row");
            assert_eq!(probe.row_of(&key_of(columns, 1)), Some(4), "{columns:?}: `b` twice, in two partitions");
            assert_eq!(probe.row_of(&key_of(columns, 3)), Some(3), "{columns:?}");
            // Only the probed rows are keys.
            let some = Probe::new(&batch, columns, &partitions, &[0, 1], Stamps::None).unwrap();
            assert_eq!(some.row_of(&key_of(columns, 3)), None, "{columns:?}");
            // `b` is in two partitions: no partition maps rows by place.
            assert!(probe.partitions.values().all(|p| p.rows.is_none()), "{columns:?}");
        }
        let one_partition = Probe::new(&batch, &["k"], &partitions, &[0, 1, 2, 3], Stamps::None).unwrap();
        assert!(one_partition.partitions.values().all(|p| p.rows.is_some()));
    }

    fn below_of(first: &ArrayRef, stamps: &[(i64, i64, bool)], key: &str) -> crate::lake::Below {
        let rows = [0, 1, 2];
        let values = KeyValues::of(first, &rows).unwrap();
        below(&rows, &values.places(first, &rows).unwrap(), values.len(), stamps, &["a", key]).unwrap()
    }
}
