//! The embedded state: checkpoints, the link table and open problems, in **sled**.
//!
//! This is the only module that knows sled: nothing else sees keys, trees or bytes. Every write
//! the daemon will act on is flushed before the call returns, because sled loses un-flushed
//! commits on a crash (SPEC §2). Writes that must agree with each other (a PO link, its reverse
//! index, its open problems and the checkpoint that passes it) go through one sled transaction.
//!
//! One daemon per store: [`Store::open`] takes an exclusive lock on `<path>/LOCK` (released by
//! the kernel when the process dies, even by SIGKILL), so a second process gets a clear error.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use crate::plan::model::PoLink;
pub use problems::{Leg, Level, PoProblems, Problem, ProblemKind, errors_first};

#[path = "store_problems.rs"]
mod problems;

/// Bumped when the stored shapes change incompatibly. A store written by a newer version is
/// refused rather than misread.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &[u8] = b"schema_version";
/// The progress record of an unfinished `backfill` (in the `meta` tree).
const BACKFILL_KEY: &[u8] = b"backfill";
const LOCK_FILE: &str = "LOCK";
/// How long [`Store::open`] keeps trying a lock it found taken (see there for why).
pub const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(1);
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(20);
const DB_DIR: &str = "db";
/// Written by the running daemon so `status` can answer while the store is locked.
pub const STATUS_SNAPSHOT_FILE: &str = "status.json";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("another netsuite-ion-sync is running on {path}{pid}", pid = pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { path: PathBuf, pid: Option<u32> },
    #[error(
        "the store at {path} was written by a newer netsuite-ion-sync (schema {found}, this binary \
         supports {supported}); upgrade the binary or restore a matching backup"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("store at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: unreadable {what} ({reason}); the store may be damaged")]
    Corrupt { what: String, reason: String },
}

impl StoreError {
    /// Whether the store was refused only because a lock was taken: ours, or sled's own lock
    /// on its database file (sled reports that as an I/O error with this text and no kind).
    fn is_lock_contention(&self) -> bool {
        match self {
            StoreError::Locked { .. } => true,
            StoreError::Sled(sled::Error::Io(e)) => {
                e.to_string().contains("could not acquire lock")
            }
            _ => false,
        }
    }
}

/// A keyset cursor: the text a remote system gave for a timestamp, plus the id that breaks ties.
/// The text is kept verbatim (no time-zone conversion: NetSuite's SuiteQL renders in the
/// integration user's zone, and the cursor is fed back to it unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub at: String,
    pub id: i64,
}

/// The checkpoints the daemon keeps, one per polled stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Checkpoint {
    /// NetSuite PO headers by `(lastmodifieddate, id)`.
    NetSuitePurchaseOrders,
    /// NetSuite `DeletedRecord` by `(deleteddate, recordid)`.
    NetSuiteDeletions,
    /// ION `receiptItems` by `(_updated, id)`.
    IonReceiptItems,
}

impl Checkpoint {
    pub const ALL: [Checkpoint; 3] = [
        Checkpoint::NetSuitePurchaseOrders,
        Checkpoint::NetSuiteDeletions,
        Checkpoint::IonReceiptItems,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Checkpoint::NetSuitePurchaseOrders => "netsuite_purchase_orders",
            Checkpoint::NetSuiteDeletions => "netsuite_deletions",
            Checkpoint::IonReceiptItems => "ion_receipt_items",
        }
    }
}

/// NetSuite vendor ↔ ION supplier, so a vendor rename never creates a second supplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorLink {
    pub ns_vendor_id: i64,
    pub ion_supplier_id: i64,
    /// The supplier name at link time (informational).
    pub name: String,
}

/// Identifies one NetSuite itemReceipt made from one ION receipt: batch 1 is the first mirror,
/// 2, 3… are items added to the receipt later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReceiptKey {
    pub ion_receipt_id: i64,
    pub ns_po_id: i64,
    pub batch: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReceiptState {
    /// Recorded before the create call; the outcome is unknown until confirmed. On restart the
    /// `external_id` is looked up in NetSuite before anything is re-sent.
    Intended,
    Created {
        item_receipt_id: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptLink {
    pub key: ReceiptKey,
    pub external_id: String,
    pub state: ReceiptState,
    /// ION receipt item id → quantity mirrored, to detect edits after mirroring.
    pub items: BTreeMap<i64, f64>,
    pub recorded_at: DateTime<Utc>,
}

/// The outcome of the last cycle of one loop, for `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleReport {
    pub loop_name: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub ok: bool,
    pub summary: String,
}

/// How far an unfinished `backfill --since DATE` got. It exists only while a backfill is
/// under way or was interrupted, and is removed when one runs to the end: a backfill re-run
/// while it exists resumes from `reached` instead of re-reading from its date.
///
/// It is kept apart from the PO checkpoint because the two mean different things: the
/// checkpoint may already be past `since` (a daemon ran before) without the POs between them
/// ever having been read, whereas everything from `since` to `reached` *was* read and applied
/// (or parked as an open problem) by a backfill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillProgress {
    /// The `--since` date (`YYYY-MM-DD`) the covered range starts at.
    pub since: String,
    /// The keyset position (NetSuite `lastmodifieddate` text and id) of the last PO of the last
    /// completed page.
    pub reached: Cursor,
    pub started: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// Everything `status` shows, readable from the store or from the daemon's snapshot file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub generated_at: DateTime<Utc>,
    pub schema_version: u32,
    pub checkpoints: BTreeMap<String, Cursor>,
    pub po_links: usize,
    pub vendor_links: usize,
    pub receipt_links: usize,
    pub receipts_pending: usize,
    pub cycles: Vec<CycleReport>,
    pub problems: Vec<PoProblems>,
    /// An unfinished `backfill`, if any (absent from snapshots written before it existed).
    #[serde(default)]
    pub backfill: Option<BackfillProgress>,
}

/// The store. Cheap to clone (sled trees are reference-counted); the lock lives as long as any
/// clone.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    checkpoints: sled::Tree,
    po_links: sled::Tree,
    /// ION PO id → NetSuite PO id (reverse index of `po_links`).
    ion_po_index: sled::Tree,
    vendor_links: sled::Tree,
    receipt_links: sled::Tree,
    problems: sled::Tree,
    cycles: sled::Tree,
    _lock: std::sync::Arc<File>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Order-preserving key for a signed id (ids are compared as numbers, not as text).
fn id_key(id: i64) -> [u8; 8] {
    ((id as u64) ^ (1 << 63)).to_be_bytes()
}

fn key_id(bytes: &[u8]) -> Option<i64> {
    let arr: [u8; 8] = bytes.try_into().ok()?;
    Some((u64::from_be_bytes(arr) ^ (1 << 63)) as i64)
}

fn receipt_key(k: &ReceiptKey) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    v.extend_from_slice(&id_key(k.ion_receipt_id));
    v.extend_from_slice(&id_key(k.ns_po_id));
    v.extend_from_slice(&k.batch.to_be_bytes());
    v
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain structs to JSON cannot fail (no maps with non-string keys
    // other than integer keys, which serde_json writes as strings).
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

fn tx_err(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    }
}

/// What one applied PO changes in the store, written atomically by [`Store::commit_po`].
#[derive(Debug, Clone, Default)]
pub struct PoCommit {
    /// The link to write; `None` with `unlink` set removes it (PO deleted).
    pub link: Option<PoLink>,
    /// Remove the link of this NetSuite PO (and its reverse index).
    pub unlink: Option<i64>,
    /// Replace the open problems of the PO (empty clears them).
    pub problems: Option<PoProblems>,
    /// Advance a checkpoint in the same transaction.
    pub checkpoint: Option<(Checkpoint, Cursor)>,
}

impl Store {
    /// Opens (creating if needed) the store in `path`, refusing when another process holds it
    /// or when it was written by a newer schema.
    ///
    /// A lock found taken is tried again for up to [`LOCK_GRACE`] before the refusal. Why: a
    /// lock can outlive its owner by a moment. A process that starts a child copies every open
    /// descriptor into it, and the copy keeps the lock (ours and sled's, both `flock`) until the
    /// child's `exec` closes it, so a store closed and reopened just then, in this process or
    /// by the child, would be refused although nobody holds it. A real second daemon holds the
    /// lock for far longer than the grace.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let started = std::time::Instant::now();
        let mut told = false;
        loop {
            match Store::open_once(path) {
                Err(e) if e.is_lock_contention() && started.elapsed() < LOCK_GRACE => {
                    if !told {
                        tracing::debug!(path = %path.display(), "the store is locked; trying again for a moment");
                        told = true;
                    }
                    std::thread::sleep(LOCK_RETRY);
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&lock_path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                    pid,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        lock.set_len(0).map_err(io)?;
        write!(lock, "{}", std::process::id()).map_err(io)?;

        let db = sled::Config::new()
            .path(path.join(DB_DIR))
            .mode(sled::Mode::HighThroughput)
            .open()?;
        let store = Store {
            path: path.to_path_buf(),
            meta: db.open_tree("meta")?,
            checkpoints: db.open_tree("checkpoints")?,
            po_links: db.open_tree("po_links")?,
            ion_po_index: db.open_tree("ion_po_index")?,
            vendor_links: db.open_tree("vendor_links")?,
            receipt_links: db.open_tree("receipt_links")?,
            problems: db.open_tree("problems")?,
            cycles: db.open_tree("cycles")?,
            db,
            _lock: std::sync::Arc::new(lock),
        };
        store.check_schema()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.meta.get(SCHEMA_KEY)? {
            Some(v) => {
                let found: u32 = decode("schema version", &v)?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        path: self.path.clone(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                self.meta.insert(SCHEMA_KEY, encode(&SCHEMA_VERSION))?;
                self.flush()?;
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes every write so far durable. Called before any method returns a result the caller
    /// will act on.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    // -- checkpoints ----------------------------------------------------------------------------

    pub fn checkpoint(&self, which: Checkpoint) -> Result<Option<Cursor>, StoreError> {
        self.checkpoints
            .get(which.name())?
            .map(|v| decode(which.name(), &v))
            .transpose()
    }

    pub fn set_checkpoint(&self, which: Checkpoint, cursor: &Cursor) -> Result<(), StoreError> {
        self.checkpoints.insert(which.name(), encode(cursor))?;
        self.flush()
    }

    /// Sets a checkpoint only if there is none yet (atomically); returns whether it was set.
    /// `backfill` uses it to give a fresh store a starting point without ever moving an
    /// existing checkpoint.
    pub fn set_checkpoint_if_absent(
        &self,
        which: Checkpoint,
        cursor: &Cursor,
    ) -> Result<bool, StoreError> {
        let set = self
            .checkpoints
            .compare_and_swap(which.name(), None as Option<&[u8]>, Some(encode(cursor)))?
            .is_ok();
        self.flush()?;
        Ok(set)
    }

    // -- backfill -------------------------------------------------------------------------------

    /// The progress of an unfinished backfill, if one was started and not finished.
    pub fn backfill_progress(&self) -> Result<Option<BackfillProgress>, StoreError> {
        self.meta
            .get(BACKFILL_KEY)?
            .map(|v| decode("backfill progress", &v))
            .transpose()
    }

    /// Records a completed backfill page: its progress and (when it moves forward) the PO
    /// checkpoint, in one transaction, flushed before returning.
    pub fn commit_backfill_page(
        &self,
        progress: &BackfillProgress,
        checkpoint: Option<&Cursor>,
    ) -> Result<(), StoreError> {
        (&self.meta, &self.checkpoints)
            .transaction(|(meta, checkpoints)| {
                meta.insert(BACKFILL_KEY, encode(progress))?;
                if let Some(c) = checkpoint {
                    checkpoints.insert(Checkpoint::NetSuitePurchaseOrders.name(), encode(c))?;
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    /// Forgets the backfill progress (the backfill ran to the end).
    pub fn finish_backfill(&self) -> Result<(), StoreError> {
        self.meta.remove(BACKFILL_KEY)?;
        self.flush()
    }

    // -- purchase-order links -------------------------------------------------------------------

    pub fn po_link(&self, ns_po_id: i64) -> Result<Option<PoLink>, StoreError> {
        self.po_links
            .get(id_key(ns_po_id))?
            .map(|v| decode("po link", &v))
            .transpose()
    }

    pub fn po_link_by_ion(&self, ion_po_id: i64) -> Result<Option<PoLink>, StoreError> {
        match self.ion_po_index.get(id_key(ion_po_id))? {
            Some(ns) => match key_id(&ns) {
                Some(ns_id) => self.po_link(ns_id),
                None => Err(StoreError::Corrupt {
                    what: "ion po index".into(),
                    reason: "bad key".into(),
                }),
            },
            None => Ok(None),
        }
    }

    /// All PO links, in NetSuite id order.
    pub fn po_links(&self) -> Result<Vec<PoLink>, StoreError> {
        self.po_links
            .iter()
            .map(|r| {
                let (_, v) = r?;
                decode("po link", &v)
            })
            .collect()
    }

    /// The links matching what an admin typed: a NetSuite internal id, a `tranId` (case
    /// insensitive) or an ION PO id. A number may match both sides; all matches are returned.
    pub fn find_po_links(&self, query: &str) -> Result<Vec<PoLink>, StoreError> {
        let q = query.trim();
        let mut found: Vec<PoLink> = Vec::new();
        if let Ok(id) = q.parse::<i64>() {
            found.extend(self.po_link(id)?);
            found.extend(self.po_link_by_ion(id)?);
        }
        for link in self.po_links()? {
            if link.tran_id.eq_ignore_ascii_case(q) {
                found.push(link);
            }
        }
        found.sort_by_key(|l| l.ns_po_id);
        found.dedup_by_key(|l| l.ns_po_id);
        Ok(found)
    }

    /// All receipt links made against one NetSuite PO.
    pub fn receipt_links_of_po(&self, ns_po_id: i64) -> Result<Vec<ReceiptLink>, StoreError> {
        Ok(self
            .receipt_links()?
            .into_iter()
            .filter(|r| r.key.ns_po_id == ns_po_id)
            .collect())
    }

    /// All vendor ↔ supplier links, in NetSuite id order.
    pub fn vendor_links(&self) -> Result<Vec<VendorLink>, StoreError> {
        self.vendor_links
            .iter()
            .map(|r| {
                let (_, v) = r?;
                decode("vendor link", &v)
            })
            .collect()
    }

    /// Writes a PO's link, reverse index, open problems and (optionally) a checkpoint in one
    /// transaction, then flushes: either all of it survives a crash or none of it does.
    pub fn commit_po(&self, commit: &PoCommit) -> Result<(), StoreError> {
        self.commit_pos(std::slice::from_ref(commit))
    }

    /// [`Store::commit_po`] for several POs in one transaction and one flush: a group of POs
    /// created together is recorded together (one fsync, not one per PO). All or none survive.
    pub fn commit_pos(&self, commits: &[PoCommit]) -> Result<(), StoreError> {
        if commits.is_empty() {
            return Ok(());
        }
        (
            &self.po_links,
            &self.ion_po_index,
            &self.problems,
            &self.checkpoints,
        )
            .transaction(|(links, index, problems, checkpoints)| {
                for commit in commits {
                    // Read inside the transaction, so an earlier commit of the same batch counts.
                    let old_link: Option<PoLink> =
                        match commit.link.as_ref().map(|l| l.ns_po_id).or(commit.unlink) {
                            Some(ns) => links
                                .get(id_key(ns))?
                                .map(|v| decode("po link", &v))
                                .transpose()
                                .map_err(ConflictableTransactionError::Abort)?,
                            None => None,
                        };
                    if let Some(ns) = commit.unlink {
                        links.remove(&id_key(ns))?;
                        problems.remove(&id_key(ns))?;
                        if let Some(old) = &old_link {
                            index.remove(&id_key(old.ion_po_id))?;
                        }
                    }
                    if let Some(link) = &commit.link {
                        if let Some(old) = &old_link
                            && old.ion_po_id != link.ion_po_id
                        {
                            index.remove(&id_key(old.ion_po_id))?;
                        }
                        links.insert(&id_key(link.ns_po_id), encode(link))?;
                        index.insert(&id_key(link.ion_po_id), &id_key(link.ns_po_id))?;
                    }
                    if let Some(p) = &commit.problems {
                        if p.problems.is_empty() {
                            problems.remove(&id_key(p.ns_po_id))?;
                        } else {
                            problems.insert(&id_key(p.ns_po_id), encode(p))?;
                        }
                    }
                    if let Some((which, cursor)) = &commit.checkpoint {
                        checkpoints.insert(which.name(), encode(cursor))?;
                    }
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    // -- vendor links ---------------------------------------------------------------------------

    pub fn vendor_link(&self, ns_vendor_id: i64) -> Result<Option<VendorLink>, StoreError> {
        self.vendor_links
            .get(id_key(ns_vendor_id))?
            .map(|v| decode("vendor link", &v))
            .transpose()
    }

    pub fn put_vendor_link(&self, link: &VendorLink) -> Result<(), StoreError> {
        self.put_vendor_links(std::slice::from_ref(link))
    }

    /// Several vendor links, one flush for all: a first cycle that meets fifty new vendors
    /// waits for one fsync, not fifty. Each link stands alone (a crash half-way loses only
    /// links ION's name lookup finds again), so they need no transaction.
    pub fn put_vendor_links(&self, links: &[VendorLink]) -> Result<(), StoreError> {
        if links.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for link in links {
            batch.insert(&id_key(link.ns_vendor_id), encode(link));
        }
        self.vendor_links.apply_batch(batch)?;
        self.flush()
    }

    // -- receipt links --------------------------------------------------------------------------

    pub fn receipt_link(&self, key: &ReceiptKey) -> Result<Option<ReceiptLink>, StoreError> {
        self.receipt_links
            .get(receipt_key(key))?
            .map(|v| decode("receipt link", &v))
            .transpose()
    }

    /// Records an intent or an outcome. Flushed before returning: the intent must be durable
    /// before the create call it announces is sent.
    pub fn put_receipt_link(&self, link: &ReceiptLink) -> Result<(), StoreError> {
        self.receipt_links
            .insert(receipt_key(&link.key), encode(link))?;
        self.flush()
    }

    /// Forgets an intent that is known not to have reached NetSuite (a definite rejection, or a
    /// lookup that still finds nothing long after the attempt), so its items are planned again.
    /// Flushed before returning, like every write the daemon acts on.
    pub fn remove_receipt_link(&self, key: &ReceiptKey) -> Result<(), StoreError> {
        self.receipt_links.remove(receipt_key(key))?;
        self.flush()
    }

    /// All receipt links of one ION receipt, in (PO, batch) order.
    pub fn receipt_links_of(&self, ion_receipt_id: i64) -> Result<Vec<ReceiptLink>, StoreError> {
        self.receipt_links
            .scan_prefix(id_key(ion_receipt_id))
            .map(|r| {
                let (_, v) = r?;
                decode("receipt link", &v)
            })
            .collect()
    }

    pub fn receipt_links(&self) -> Result<Vec<ReceiptLink>, StoreError> {
        self.receipt_links
            .iter()
            .map(|r| {
                let (_, v) = r?;
                decode("receipt link", &v)
            })
            .collect()
    }

    // -- problems -------------------------------------------------------------------------------

    pub fn problems_of(&self, ns_po_id: i64) -> Result<Option<PoProblems>, StoreError> {
        self.problems
            .get(id_key(ns_po_id))?
            .map(|v| decode("problems", &v))
            .transpose()
    }

    pub fn all_problems(&self) -> Result<Vec<PoProblems>, StoreError> {
        self.problems
            .iter()
            .map(|r| {
                let (_, v) = r?;
                decode("problems", &v)
            })
            .collect()
    }

    /// Replaces the open problems of one PO (an empty list clears them).
    pub fn set_problems(&self, problems: &PoProblems) -> Result<(), StoreError> {
        self.commit_po(&PoCommit {
            problems: Some(problems.clone()),
            ..Default::default()
        })
    }

    // -- cycles and status ----------------------------------------------------------------------

    /// Records the outcome of one loop's run and refreshes the status snapshot, so `status`
    /// shows it even while this process holds the store.
    pub fn record_cycle(&self, report: &CycleReport) -> Result<(), StoreError> {
        self.cycles
            .insert(report.loop_name.as_bytes(), encode(report))?;
        self.flush()?;
        self.write_status_snapshot()
    }

    pub fn status(&self) -> Result<StatusReport, StoreError> {
        let mut checkpoints = BTreeMap::new();
        for c in Checkpoint::ALL {
            if let Some(cursor) = self.checkpoint(c)? {
                checkpoints.insert(c.name().to_string(), cursor);
            }
        }
        let receipts = self.receipt_links()?;
        let cycles = self
            .cycles
            .iter()
            .map(|r| {
                let (_, v) = r?;
                decode("cycle report", &v)
            })
            .collect::<Result<Vec<CycleReport>, StoreError>>()?;
        Ok(StatusReport {
            generated_at: Utc::now(),
            schema_version: SCHEMA_VERSION,
            checkpoints,
            po_links: self.po_links.len(),
            vendor_links: self.vendor_links.len(),
            receipt_links: receipts.len(),
            receipts_pending: receipts
                .iter()
                .filter(|r| r.state == ReceiptState::Intended)
                .count(),
            cycles,
            problems: {
                let mut problems = self.all_problems()?;
                errors_first(&mut problems);
                problems
            },
            backfill: self.backfill_progress()?,
        })
    }

    /// Writes the status snapshot next to the store (atomically: temp file + rename), so that
    /// `status` can answer while this process holds the lock.
    pub fn write_status_snapshot(&self) -> Result<(), StoreError> {
        let report = self.status()?;
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.join(format!("{STATUS_SNAPSHOT_FILE}.tmp"));
        let body = serde_json::to_vec_pretty(&report).unwrap_or_default();
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, self.path.join(STATUS_SNAPSHOT_FILE)).map_err(io)
    }
}

/// Reads the snapshot a running daemon left in `path` (used when the store is locked).
pub fn read_status_snapshot(path: &Path) -> Result<Option<StatusReport>, StoreError> {
    let file = path.join(STATUS_SNAPSHOT_FILE);
    match std::fs::read(&file) {
        Ok(bytes) => decode("status snapshot", &bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io { path: file, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_keys_sort_numerically() {
        let mut ids = [5i64, -3, 0, 1 << 40, 9, i64::MAX, i64::MIN];
        let mut keys: Vec<_> = ids.iter().map(|i| id_key(*i)).collect();
        keys.sort();
        ids.sort();
        let back: Vec<_> = keys.iter().map(|k| key_id(k).unwrap_or(0)).collect();
        assert_eq!(back, ids);
    }
}
