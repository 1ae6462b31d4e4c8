//! Multi-master through real clients: a page service and several instance processes.
//!
//! Conflicts across instances, replication, REGIONAL_RAW read-after-write, auto-increment
//! across writers, read-only instances, DDL during DML, adding an instance, and the bank and
//! counter invariants with an instance killed and restarted mid-run.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cluster::{kill9_pid, opts, sigterm_pid, Cluster, Proc};
use mysql_async::prelude::*;
use mysql_async::Conn;
use parking_lot_free::PortMap;

fn server_code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

fn is_conflict(e: &mysql_async::Error) -> bool {
    server_code(e) == Some(1213)
}

async fn regional(c: &mut Conn) {
    c.query_drop("SET SESSION aurora_mm_session_consistency_level = 'REGIONAL_RAW'")
        .await
        .expect("set REGIONAL_RAW");
}

async fn regional_conn(cluster: &Cluster, slot: u16) -> Conn {
    let mut c = cluster.conn(slot).await;
    regional(&mut c).await;
    c
}

/// `app.acct` with accounts 1 and 2 (balance 100), and a REGIONAL_RAW session on each of
/// instances 1 and 2.
async fn two_account_sessions(cluster: &Cluster) -> (Conn, Conn) {
    let mut c1 = cluster.conn(1).await;
    c1.query_drop("CREATE DATABASE app").await.unwrap();
    c1.query_drop("CREATE TABLE app.acct (id INT PRIMARY KEY, bal INT)")
        .await
        .unwrap();
    c1.query_drop("INSERT INTO app.acct VALUES (1, 100), (2, 100)")
        .await
        .unwrap();
    let c2 = regional_conn(cluster, 2).await;
    regional(&mut c1).await;
    (c1, c2)
}

/// A tiny shared slot → port map, updated when an instance restarts on a new port.
mod parking_lot_free {
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    pub struct PortMap(Mutex<HashMap<u16, u16>>);

    impl PortMap {
        pub fn set(&self, slot: u16, port: u16) {
            self.0.lock().unwrap().insert(slot, port);
        }
        pub fn get(&self, slot: u16) -> u16 {
            self.0.lock().unwrap()[&slot]
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ids_never_collide_and_every_instance_sees_every_row() {
    let cluster = Cluster::start(3);
    let mut c1 = cluster.conn(1).await;
    c1.query_drop("CREATE DATABASE app").await.unwrap();
    c1.query_drop("CREATE TABLE app.items (id BIGINT PRIMARY KEY AUTO_INCREMENT, slot INT, n INT)")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for slot in 1..=3u16 {
        for _worker in 0..2 {
            let port = cluster.port(slot);
            tasks.push(tokio::spawn(async move {
                let mut c = Conn::new(opts(port)).await.unwrap();
                regional(&mut c).await;
                let mut ids = Vec::new();
                for n in 0..40 {
                    // Bounded: a conflict is retried, and conflicts end as others commit.
                    for _attempt in 0..100 {
                        match c
                            .exec_drop("INSERT INTO app.items (slot, n) VALUES (?, ?)", (slot, n))
                            .await
                        {
                            Ok(()) => {
                                let id = c.last_insert_id().expect("insert id");
                                let last: u64 = c
                                    .query_first("SELECT LAST_INSERT_ID()")
                                    .await
                                    .unwrap()
                                    .unwrap();
                                assert_eq!(id, last, "LAST_INSERT_ID() = OK packet's insert id");
                                ids.push(id);
                                break;
                            }
                            Err(e) if is_conflict(&e) => continue,
                            Err(e) => panic!("insert on slot {slot}: {e}"),
                        }
                    }
                }
                (slot, ids)
            }));
        }
    }
    let mut all = BTreeSet::new();
    for t in tasks {
        let (slot, ids) = t.await.unwrap();
        assert_eq!(ids.len(), 40);
        for id in ids {
            assert_eq!(id % 16, u64::from(slot), "id {id} from slot {slot}");
            assert!(all.insert(id), "id {id} generated twice");
        }
    }
    for slot in 1..=3 {
        let mut c = regional_conn(&cluster, slot).await;
        let ids: Vec<u64> = c
            .query("SELECT id FROM app.items ORDER BY id")
            .await
            .unwrap();
        assert_eq!(ids.len(), 240, "slot {slot} sees every row");
        assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), all);
        let (inc, off): (u64, u64) = c
            .query_first("SELECT @@auto_increment_increment, @@auto_increment_offset")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((inc, off), (16, u64::from(slot)));
        let err = c
            .query_drop("SET SESSION auto_increment_increment = 1")
            .await
            .unwrap_err();
        assert_eq!(server_code(&err), Some(1238), "{err}");
    }
    // TRUNCATE on one instance starts every instance's ids over.
    c1.query_drop("TRUNCATE TABLE app.items").await.unwrap();
    for slot in 1..=3u16 {
        let mut c = regional_conn(&cluster, slot).await;
        c.query_drop("INSERT INTO app.items (slot, n) VALUES (0, 0)")
            .await
            .unwrap();
        assert_eq!(c.last_insert_id(), Some(u64::from(slot)), "slot {slot}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regional_raw_reads_every_acknowledged_write() {
    let cluster = Cluster::start(2);
    let mut writer = cluster.conn(1).await;
    writer.query_drop("CREATE DATABASE app").await.unwrap();
    writer
        .query_drop("CREATE TABLE app.kv (k INT PRIMARY KEY, v BIGINT)")
        .await
        .unwrap();
    writer
        .query_drop("INSERT INTO app.kv VALUES (1, 0)")
        .await
        .unwrap();
    let mut reader = regional_conn(&cluster, 2).await;
    const TRIALS: i64 = 2000;
    let mut read_time = Duration::ZERO;
    for i in 1..=TRIALS {
        writer
            .exec_drop("UPDATE app.kv SET v = ? WHERE k = 1", (i,))
            .await
            .unwrap();
        let t = Instant::now();
        let v: i64 = reader
            .query_first("SELECT v FROM app.kv WHERE k = 1")
            .await
            .unwrap()
            .unwrap();
        read_time += t.elapsed();
        assert_eq!(
            v, i,
            "trial {i}: REGIONAL_RAW on slot 2 missed a write acknowledged on slot 1"
        );
    }
    // The same reads without REGIONAL_RAW, for the cost per statement.
    reader
        .query_drop("SET SESSION aurora_mm_session_consistency_level = 'INSTANCE_RAW'")
        .await
        .unwrap();
    let t = Instant::now();
    for _ in 0..TRIALS {
        let _: Option<i64> = reader
            .query_first("SELECT v FROM app.kv WHERE k = 1")
            .await
            .unwrap();
    }
    let instance_time = t.elapsed();
    eprintln!(
        "REGIONAL_RAW: {TRIALS} trials; read {:.1} us/statement vs INSTANCE_RAW {:.1} us",
        read_time.as_micros() as f64 / TRIALS as f64,
        instance_time.as_micros() as f64 / TRIALS as f64
    );
    // The first statement of an explicit transaction catches up too.
    regional(&mut reader).await;
    writer
        .query_drop("UPDATE app.kv SET v = -1 WHERE k = 1")
        .await
        .unwrap();
    reader.query_drop("BEGIN").await.unwrap();
    let v: i64 = reader
        .query_first("SELECT v FROM app.kv WHERE k = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, -1);
    // The level cannot change inside a transaction.
    let err = reader
        .query_drop("SET SESSION aurora_mm_session_consistency_level = 'INSTANCE_RAW'")
        .await
        .unwrap_err();
    assert!(server_code(&err).is_some(), "{err}");
    reader.query_drop("COMMIT").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_page_across_instances_conflicts_and_rolls_back_everything() {
    let cluster = Cluster::start(2);
    let (mut c1, mut c2) = two_account_sessions(&cluster).await;
    c1.query_drop("CREATE TABLE app.audit (id INT PRIMARY KEY)")
        .await
        .unwrap();
    // The same row from two instances: the later committer loses, whole transaction.
    // (Different rows of one page are merged by the page store: see conflicts.rs.)
    c1.query_drop("BEGIN").await.unwrap();
    c2.query_drop("BEGIN").await.unwrap();
    c2.query_drop("INSERT INTO app.audit VALUES (7)")
        .await
        .unwrap();
    c1.query_drop("UPDATE app.acct SET bal = bal + 1 WHERE id = 1")
        .await
        .unwrap();
    c2.query_drop("UPDATE app.acct SET bal = bal + 5 WHERE id = 1")
        .await
        .unwrap();
    // c2 has seen its own write (105): a replay after the conflict would read 106, so the
    // lost commit cannot be replayed (session/replay.rs) and c2 gets 1213.
    let seen: i32 = c2
        .query_first("SELECT bal FROM app.acct WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, 105);
    c1.query_drop("COMMIT").await.unwrap();
    let err = c2.query_drop("COMMIT").await.unwrap_err();
    assert!(is_conflict(&err), "{err}");
    assert!(
        err.to_string()
            .contains("Deadlock found when trying to get lock"),
        "{err}"
    );
    let rows: Vec<(i32, i32)> = c2
        .query("SELECT id, bal FROM app.acct ORDER BY id")
        .await
        .unwrap();
    assert_eq!(rows, vec![(1, 101), (2, 100)]);
    let audit: u64 = c2
        .query_first("SELECT COUNT(*) FROM app.audit")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        audit, 0,
        "the loser's earlier statements are rolled back too"
    );

    // FOR UPDATE across instances: a read-modify-write whose locked rows changed elsewhere loses.
    c2.query_drop("BEGIN").await.unwrap();
    let bal: i32 = c2
        .query_first("SELECT bal FROM app.acct WHERE id = 1 FOR UPDATE")
        .await
        .unwrap()
        .unwrap();
    c1.query_drop("UPDATE app.acct SET bal = bal + 100 WHERE id = 1")
        .await
        .unwrap();
    // Writes only another table's page: without the lock this would commit a lost update.
    c2.exec_drop("INSERT INTO app.audit VALUES (?)", (bal,))
        .await
        .unwrap();
    let err = c2.query_drop("COMMIT").await.unwrap_err();
    assert!(is_conflict(&err), "{err}");
}

/// A transaction that loses to another instance's commit of the same row is replayed on its
/// own instance once the winner is applied there, and commits: both increments count, and the
/// client saw no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_lost_to_another_instance_is_replayed() {
    let cluster = Cluster::start(2);
    let (mut c1, mut c2) = two_account_sessions(&cluster).await;
    c1.query_drop("BEGIN").await.unwrap();
    c2.query_drop("BEGIN").await.unwrap();
    c1.exec_drop("UPDATE app.acct SET bal = bal - ? WHERE id = ?", (7, 1))
        .await
        .unwrap();
    c2.exec_drop("UPDATE app.acct SET bal = bal - ? WHERE id = ?", (5, 1))
        .await
        .unwrap();
    c2.exec_drop("UPDATE app.acct SET bal = bal + ? WHERE id = ?", (5, 2))
        .await
        .unwrap();
    c1.query_drop("COMMIT").await.unwrap();
    c2.query_drop("COMMIT").await.unwrap();
    let rows: Vec<(i32, i32)> = c2
        .query("SELECT id, bal FROM app.acct ORDER BY id")
        .await
        .unwrap();
    assert_eq!(rows, vec![(1, 88), (2, 105)]);
    let replays: Option<(String, u64)> = c2
        .query_first("SHOW GLOBAL STATUS LIKE 'Borealis_replays'")
        .await
        .unwrap();
    assert_eq!(replays.map(|r| r.1), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counter_from_three_instances_counts_every_acknowledged_increment() {
    let cluster = Cluster::start(3);
    let mut c1 = cluster.conn(1).await;
    c1.query_drop("CREATE DATABASE app").await.unwrap();
    c1.query_drop("CREATE TABLE app.counter (id INT PRIMARY KEY, v BIGINT)")
        .await
        .unwrap();
    c1.query_drop("INSERT INTO app.counter VALUES (1, 0)")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for slot in 1..=3u16 {
        let port = cluster.port(slot);
        // Plain increments.
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::new(opts(port)).await.unwrap();
            regional(&mut c).await;
            let mut acked = 0u64;
            for _ in 0..40 {
                match c
                    .query_drop("UPDATE app.counter SET v = v + 1 WHERE id = 1")
                    .await
                {
                    Ok(()) => acked += 1,
                    Err(e) if is_conflict(&e) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            acked
        }));
        // Read-modify-write under FOR UPDATE.
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::new(opts(port)).await.unwrap();
            regional(&mut c).await;
            let mut acked = 0u64;
            for _ in 0..25 {
                let attempt: Result<(), mysql_async::Error> = async {
                    c.query_drop("BEGIN").await?;
                    let v: i64 = c
                        .query_first("SELECT v FROM app.counter WHERE id = 1 FOR UPDATE")
                        .await?
                        .unwrap_or(0);
                    c.exec_drop("UPDATE app.counter SET v = ? WHERE id = 1", (v + 1,))
                        .await?;
                    c.query_drop("COMMIT").await
                }
                .await;
                match attempt {
                    Ok(()) => acked += 1,
                    Err(e) if is_conflict(&e) => {
                        let _ = c.query_drop("ROLLBACK").await;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            acked
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert!(total > 0);
    for slot in 1..=3 {
        let mut c = regional_conn(&cluster, slot).await;
        let v: u64 = c
            .query_first("SELECT v FROM app.counter WHERE id = 1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v, total, "slot {slot}: counter = acknowledged increments");
    }
}

/// One bank worker: transfers until `until`, reconnecting (the port may change) when its
/// instance is killed. Returns (acknowledged transfer ids, ids whose COMMIT outcome is unknown).
async fn bank_worker(
    ports: Arc<PortMap>,
    slot: u16,
    worker: u64,
    until: Instant,
) -> (Vec<u64>, Vec<u64>) {
    let mut acked = Vec::new();
    let mut unknown = Vec::new();
    let mut seq = 0u64;
    let mut conn: Option<Conn> = None;
    let mut rng = (u64::from(slot) * 7919 + worker * 104729) | 1;
    while Instant::now() < until {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::new(opts(ports.get(slot))).await {
                Ok(mut c) => {
                    // The tables were created on slot 1 a moment ago.
                    regional(&mut c).await;
                    conn.insert(c)
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let src = rng % 20 + 1;
        let dst = (src + rng / 20 % 19) % 20 + 1;
        let amount = rng % 50 + 1;
        seq += 1;
        let id = u64::from(slot) * 1_000_000_000 + worker * 1_000_000 + seq;
        let mut committing = false;
        let attempt: Result<(), mysql_async::Error> = async {
            c.query_drop("BEGIN").await?;
            c.exec_drop(
                "UPDATE app.accounts SET bal = bal - ? WHERE id = ?",
                (amount, src),
            )
            .await?;
            c.exec_drop(
                "UPDATE app.accounts SET bal = bal + ? WHERE id = ?",
                (amount, dst),
            )
            .await?;
            c.exec_drop(
                "INSERT INTO app.transfers VALUES (?, ?, ?, ?)",
                (id, src, dst, amount),
            )
            .await?;
            committing = true;
            c.query_drop("COMMIT").await
        }
        .await;
        match attempt {
            Ok(()) => acked.push(id),
            Err(e) if is_conflict(&e) => {
                let _ = c.query_drop("ROLLBACK").await;
            }
            Err(e) if server_code(&e).is_some() => panic!("transfer {id} on slot {slot}: {e}"),
            Err(_) => {
                // The connection died (instance killed): a COMMIT in flight may or may not
                // have been made.
                if committing {
                    unknown.push(id);
                }
                conn = None;
            }
        }
    }
    (acked, unknown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bank_total_holds_with_an_instance_killed_and_restarted() {
    let mut cluster = Cluster::start(3);
    let mut c1 = cluster.conn(1).await;
    c1.query_drop("CREATE DATABASE app").await.unwrap();
    c1.query_drop("CREATE TABLE app.accounts (id INT PRIMARY KEY, bal BIGINT)")
        .await
        .unwrap();
    c1.query_drop(
        "CREATE TABLE app.transfers (id BIGINT PRIMARY KEY, src INT, dst INT, amount BIGINT)",
    )
    .await
    .unwrap();
    let values: Vec<String> = (1..=20).map(|i| format!("({i}, 1000)")).collect();
    c1.query_drop(format!(
        "INSERT INTO app.accounts VALUES {}",
        values.join(",")
    ))
    .await
    .unwrap();
    drop(c1);
    let ports = Arc::new(PortMap::default());
    for slot in 1..=3 {
        ports.set(slot, cluster.port(slot));
    }
    let until = Instant::now() + Duration::from_secs(10);
    let mut tasks = Vec::new();
    for slot in 1..=3u16 {
        for worker in 0..2 {
            tasks.push(tokio::spawn(bank_worker(
                ports.clone(),
                slot,
                worker,
                until,
            )));
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.kill9(2);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    cluster.start_instance(2, &[]);
    eprintln!("instance 2 rejoined in {:?}", started.elapsed());
    ports.set(2, cluster.port(2));
    let mut acked = Vec::new();
    let mut unknown = BTreeSet::new();
    for t in tasks {
        let (a, u) = t.await.unwrap();
        acked.extend(a);
        unknown.extend(u);
    }
    assert!(
        acked.len() > 50,
        "only {} transfers acknowledged",
        acked.len()
    );
    for slot in 1..=3 {
        let mut c = regional_conn(&cluster, slot).await;
        let total: i64 = c
            .query_first("SELECT CAST(SUM(bal) AS SIGNED) FROM app.accounts")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(total, 20_000, "slot {slot}: money created or destroyed");
        let recorded: Vec<(u64, u32, u32, i64)> = c
            .query("SELECT id, src, dst, amount FROM app.transfers")
            .await
            .unwrap();
        let recorded_ids: BTreeSet<u64> = recorded.iter().map(|r| r.0).collect();
        for id in &acked {
            assert!(recorded_ids.contains(id), "acknowledged transfer {id} lost");
        }
        for id in &recorded_ids {
            assert!(
                acked.contains(id) || unknown.contains(id),
                "transfer {id} recorded but never acknowledged nor in doubt"
            );
        }
        // Every recorded transfer was applied to the balances exactly once.
        let mut expected: HashMap<u32, i64> = (1..=20).map(|i| (i, 1000)).collect();
        for (_, src, dst, amount) in &recorded {
            *expected.get_mut(src).unwrap() -= amount;
            *expected.get_mut(dst).unwrap() += amount;
        }
        let balances: BTreeMap<u32, i64> = c
            .query::<(u32, i64), _>("SELECT id, bal FROM app.accounts")
            .await
            .unwrap()
            .into_iter()
            .collect();
        for (id, bal) in balances {
            assert_eq!(bal, expected[&id], "slot {slot}: account {id}");
        }
    }
    eprintln!(
        "bank: {} transfers acknowledged, {} in doubt at the kill",
        acked.len(),
        unknown.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_instance_rejects_writes_and_keeps_reading() {
    let mut cluster = Cluster::start(2);
    let mut c1 = cluster.conn(1).await;
    c1.query_drop("CREATE DATABASE app").await.unwrap();
    c1.query_drop("CREATE TABLE app.t (id INT PRIMARY KEY)")
        .await
        .unwrap();
    c1.query_drop("INSERT INTO app.t VALUES (1)").await.unwrap();
    let mut c2 = regional_conn(&cluster, 2).await;
    c2.query_drop("SET GLOBAL read_only = ON").await.unwrap();
    let err = c2
        .query_drop("INSERT INTO app.t VALUES (2)")
        .await
        .unwrap_err();
    assert_eq!(server_code(&err), Some(1290), "{err}");
    assert!(err.to_string().contains("--read-only"), "{err}");
    let n: u64 = c2
        .query_first("SELECT COUNT(*) FROM app.t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1, "reads continue");
    c1.query_drop("INSERT INTO app.t VALUES (3)").await.unwrap();
    let n: u64 = c2
        .query_first("SELECT COUNT(*) FROM app.t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 2, "the read-only instance still receives replication");
    c2.query_drop("SET GLOBAL read_only = OFF").await.unwrap();
    c2.query_drop("INSERT INTO app.t VALUES (2)").await.unwrap();
    // And as a setting at start.
    cluster.kill9(2);
    cluster.start_instance(2, &["--read-only"]);
    let mut c2 = cluster.conn(2).await;
    let err = c2
        .query_drop("INSERT INTO app.t VALUES (4)")
        .await
        .unwrap_err();
    assert_eq!(server_code(&err), Some(1290), "{err}");
}

/// A status variable of the instance `c` is connected to, as a number.
async fn status_u64(c: &mut Conn, name: &str) -> u64 {
    let row: Option<(String, u64)> = c
        .query_first(format!("SHOW GLOBAL STATUS LIKE '{name}'"))
        .await
        .unwrap();
    row.unwrap_or_else(|| panic!("no status variable {name}")).1
}

/// An instance whose sessions are idle (it only applies its peers' commits) does not hold back
/// the store's reclaim: the oldest retained LSN passes every LSN it had pinned while writes go
/// on elsewhere, so the storage process does not keep every page version written since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_instance_does_not_hold_back_reclaim() {
    let cluster = Cluster::start(2);
    let mut c1 = cluster.conn(1).await;
    c1.query_drop("CREATE DATABASE app").await.unwrap();
    c1.query_drop("CREATE TABLE app.t (id INT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    c1.query_drop("INSERT INTO app.t VALUES (1, 0), (2, 0), (3, 0)")
        .await
        .unwrap();
    // Instance 2 serves one query (its session pins a snapshot there), then goes idle.
    let mut c2 = regional_conn(&cluster, 2).await;
    let n: u64 = c2
        .query_first("SELECT COUNT(*) FROM app.t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 3);
    c2.disconnect().await.unwrap();
    let idle_from = status_u64(&mut c1, "Borealis_store_latest_lsn").await;
    // The store checkpoints (and reclaims) every 5 s while commits arrive.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut oldest = 0;
    for i in 0u64.. {
        c1.exec_drop("UPDATE app.t SET v = v + 1 WHERE id = ?", (i % 3 + 1,))
            .await
            .unwrap();
        if i % 20 == 0 {
            oldest = status_u64(&mut c1, "Borealis_store_oldest_lsn").await;
        }
        if oldest > idle_from || Instant::now() > deadline {
            break;
        }
    }
    assert!(
        oldest > idle_from,
        "the oldest retained LSN stayed at {oldest}, at or below {idle_from}, where instance 2 \
         went idle"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_instance_catches_up_and_serves() {
    let mut cluster = Cluster::start(2);
    let mut c1 = cluster.conn(1).await;
    c1.query_drop("CREATE DATABASE app").await.unwrap();
    c1.query_drop("CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v TEXT)")
        .await
        .unwrap();
    for i in 0..50 {
        c1.exec_drop("INSERT INTO app.t (v) VALUES (?)", (format!("row {i}"),))
            .await
            .unwrap();
    }
    cluster.start_instance(3, &[]);
    let mut c3 = regional_conn(&cluster, 3).await;
    let n: u64 = c3
        .query_first("SELECT COUNT(*) FROM app.t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 50);
    c3.query_drop("INSERT INTO app.t (v) VALUES ('from 3')")
        .await
        .unwrap();
    let id = c3.last_insert_id().unwrap();
    assert_eq!(id % 16, 3);
    regional(&mut c1).await;
    let v: String = c1
        .exec_first("SELECT v FROM app.t WHERE id = ?", (id,))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, "from 3");
    // The peers learn of the new member within a few heartbeats.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let peers: Option<(String, u64)> = c1
            .query_first("SHOW GLOBAL STATUS LIKE 'Borealis_replication_peers'")
            .await
            .unwrap();
        if peers.map(|p| p.1) == Some(2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slot 1 never saw slot 3 as a peer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ddl_on_one_instance_during_dml_on_another_keeps_every_row() {
    let cluster = Cluster::start(2);
    let mut c1 = cluster.conn(1).await;
    c1.query_drop("CREATE DATABASE app").await.unwrap();
    c1.query_drop("CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
        .await
        .unwrap();
    let port2 = cluster.port(2);
    let writer = tokio::spawn(async move {
        let mut c = Conn::new(opts(port2)).await.unwrap();
        regional(&mut c).await;
        let mut acked = 0u64;
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until {
            let attempt: Result<(), mysql_async::Error> = async {
                c.query_drop("BEGIN").await?;
                c.query_drop("INSERT INTO app.t (v) VALUES (1)").await?;
                c.query_drop("INSERT INTO app.t (v) VALUES (2)").await?;
                c.query_drop("COMMIT").await
            }
            .await;
            match attempt {
                Ok(()) => acked += 2,
                Err(e) if is_conflict(&e) => {
                    let _ = c.query_drop("ROLLBACK").await;
                }
                Err(e) => panic!("{e}"),
            }
        }
        acked
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    for ddl in [
        "ALTER TABLE app.t ADD COLUMN c INT DEFAULT 7",
        "CREATE INDEX ix_v ON app.t (v)",
        "ALTER TABLE app.t ADD COLUMN d VARCHAR(10) DEFAULT 'x'",
    ] {
        // Bounded retries: DDL that overlaps concurrent commits may lose and is retried.
        let mut done = false;
        for _ in 0..50 {
            match c1.query_drop(ddl).await {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(e) if is_conflict(&e) => continue,
                Err(e) => panic!("{ddl}: {e}"),
            }
        }
        assert!(done, "{ddl} never committed");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let acked = writer.await.unwrap();
    assert!(acked > 0);
    for slot in 1..=2 {
        let mut c = regional_conn(&cluster, slot).await;
        let (n, with_c, with_d): (u64, u64, u64) = c
            .query_first(
                "SELECT COUNT(*), CAST(SUM(c = 7) AS SIGNED), CAST(SUM(d = 'x') AS SIGNED) FROM app.t",
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, acked, "slot {slot}: every acknowledged row, no other");
        assert_eq!(
            (with_c, with_d),
            (n, n),
            "slot {slot}: defaults of added columns"
        );
        let by_index: u64 = c
            .query_first("SELECT COUNT(*) FROM app.t WHERE v IN (1, 2)")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_index, n, "slot {slot}: the index has every row");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_route_around_a_killed_instance() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Proc::spawn(&[
        "up".into(),
        "--instances".into(),
        "3".into(),
        "--port".into(),
        "0".into(),
        "--data".into(),
        dir.path().join("data").display().to_string(),
        "--endpoint".into(),
        "reports=0:2,3".into(),
    ]);
    let cluster_port = up.port_of("endpoint-cluster");
    let reports_port = up.port_of("endpoint-reports");
    let slot_via = |port: u16| async move {
        let mut c = Conn::new(opts(port)).await?;
        let slot: Option<u16> = c.query_first("SELECT @@borealis_slot").await?;
        Ok::<u16, mysql_async::Error>(slot.unwrap_or(0))
    };
    // The endpoints learn the instances from the membership within a health check.
    let deadline = Instant::now() + Duration::from_secs(10);
    while slot_via(cluster_port).await.is_err() {
        assert!(Instant::now() < deadline, "cluster endpoint never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        slot_via(cluster_port).await.unwrap(),
        1,
        "cluster endpoint: lowest slot"
    );
    let mut seen = BTreeSet::new();
    for _ in 0..6 {
        seen.insert(slot_via(reports_port).await.unwrap());
    }
    assert_eq!(
        seen,
        BTreeSet::from([2, 3]),
        "custom endpoint rotates over its members"
    );

    let pid1: u32 = up.field("pid-instance-1").parse().unwrap();
    let port1 = up.port_of("instance-1");
    kill9_pid(pid1);
    let killed = Instant::now();
    // New connections through the cluster endpoint succeed at once, on another instance.
    let slot = slot_via(cluster_port)
        .await
        .expect("cluster endpoint after the kill");
    assert_ne!(slot, 1);
    eprintln!(
        "first connection after the kill served by slot {slot} in {:?}",
        killed.elapsed()
    );
    assert!(
        Conn::new(opts(port1)).await.is_err(),
        "the killed instance's own port is dead"
    );
    // The supervisor restarts it on its port; it rejoins and serves its endpoint again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(1) = slot_via(port1).await {
            break;
        }
        assert!(Instant::now() < deadline, "instance 1 was not restarted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A clean stop (SIGTERM) removes an instance: it is not restarted, and the custom endpoint
    // sends every new connection to the remaining member.
    let pid3: u32 = up.field("pid-instance-3").parse().unwrap();
    let port3 = up.port_of("instance-3");
    sigterm_pid(pid3);
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::path::Path::new(&format!("/proc/{pid3}")).exists() {
        assert!(
            Instant::now() < deadline,
            "instance 3 did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        Conn::new(opts(port3)).await.is_err(),
        "a cleanly stopped instance stays stopped"
    );
    for _ in 0..4 {
        assert_eq!(slot_via(reports_port).await.unwrap(), 2);
    }
    up.sigterm();
    let n: u64 = {
        let pid2: u32 = up.field("pid-instance-2").parse().unwrap();
        // SIGTERM of `up` stops its children too.
        std::path::Path::new(&format!("/proc/{pid2}")).exists() as u64
    };
    assert_eq!(n, 0, "instance 2 outlived borealis up");
}
