//! After cutover against a real MariaDB: one RENAME for several tables, the reverse stream,
//! revert with writers running, revert refused when rows cannot fit the old schema, and the
//! cleanup calls.

mod online_ddl_support;

use dbplane_engine::PhysicalName;
use dbplane_engine::online_ddl::{
    ChunkOutcome, CopyOptions, CutoverOptions, OnlineDdl, OnlineDdlError, OnlineDdlState, Phase,
    RESYNC_ATTEMPTS, SchemaChange,
};
use online_ddl_support::{DB, Fixture, Writers, assert_same_rows};

const ADD_COLUMN: &str = "ADD COLUMN extra INT NOT NULL DEFAULT 7, ADD INDEX idx_a (a)";

async fn prepare_and_copy(ddl: &OnlineDdl, table: &str, change: &str) -> OnlineDdlState {
    let db = PhysicalName::new(DB).unwrap();
    let mut state = ddl
        .prepare(&db, table, &SchemaChange::Alter(change.into()), &[])
        .await
        .expect("prepare");
    let options = CopyOptions {
        max_chunk_size: 5_000,
        ..CopyOptions::default()
    };
    while ddl.copy_chunk(&mut state, &options).await.expect("copy") != ChunkOutcome::Done {
        ddl.apply_changes(&mut state).await.expect("apply");
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revert_with_writers_keeps_every_row_written_after_cutover() {
    let fixture = Fixture::start().await;
    let seeded = fixture.seed_table("items", 10_000).await;
    let ddl = OnlineDdl::new(&fixture.url()).unwrap();
    let writers = Writers::start(&fixture, "items", &seeded).await;

    let mut state = prepare_and_copy(&ddl, "items", ADD_COLUMN).await;
    let cutover = ddl
        .cutover(&mut state, &CutoverOptions::default())
        .await
        .expect("cutover");
    println!("cutover: {cutover:?}");
    assert!(state.cutover_position.is_some());
    assert!(fixture.show_create("items").await.contains("`extra`"));

    // The revert window: writers keep going on the new table, the old one is fed in reverse
    // (the state survives a serialization round trip, like a job's checkpoint).
    for _ in 0..3 {
        writers.wait_for_more(150).await;
        ddl.apply_reverse_changes(&mut state)
            .await
            .expect("reverse");
        state = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    }
    assert!(state.reverse_changes_applied > 0);
    let revert = ddl
        .revert_many(std::slice::from_mut(&mut state), &CutoverOptions::default())
        .await
        .expect("revert");
    println!("revert: {revert:?}");
    assert_eq!(state.phase, Phase::Reverted);

    // Writers keep going on the old schema again.
    writers.wait_for_more(150).await;
    let (expected, errors) = writers.finish().await;
    println!("writer errors: {errors}");
    assert_same_rows(&expected, &fixture.table_rows("items").await);
    let schema = fixture.show_create("items").await;
    assert!(
        !schema.contains("`extra`") && !schema.contains("idx_a"),
        "{schema}"
    );
    let names = fixture.tables().await;
    assert!(names.contains(&"_items_dbp_rev".into()), "{names:?}");
    assert!(!names.contains(&"_items_dbp_old".into()), "{names:?}");

    // Resumed from the state saved before the revert: it sees the swap and does nothing.
    let mut resumed = state.clone();
    resumed.phase = Phase::CutOver;
    let again = ddl
        .revert_many(
            std::slice::from_mut(&mut resumed),
            &CutoverOptions::default(),
        )
        .await
        .unwrap();
    assert!(again.already_done);
    assert_eq!(resumed.phase, Phase::Reverted);

    ddl.drop_artifacts(&state).await.unwrap();
    ddl.drop_artifacts(&state).await.unwrap();
    assert_eq!(fixture.tables().await, ["items"]);
    ddl.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revert_fails_cleanly_when_rows_do_not_fit_the_old_schema() {
    let fixture = Fixture::start().await;
    fixture
        .exec(
            "CREATE TABLE codes (id BIGINT NOT NULL PRIMARY KEY, code VARCHAR(8) NOT NULL, \
             note VARCHAR(10) NOT NULL, UNIQUE KEY uk_code (code)); \
             INSERT INTO codes VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'c', 'z')",
        )
        .await
        .unwrap();
    let ddl = OnlineDdl::new(&fixture.url()).unwrap();
    let mut state = prepare_and_copy(
        &ddl,
        "codes",
        "DROP INDEX uk_code, MODIFY code VARCHAR(40) NOT NULL, MODIFY note VARCHAR(10) NULL",
    )
    .await;
    ddl.cutover(&mut state, &CutoverOptions::default())
        .await
        .unwrap();

    // A refused row waits (deferred) and is written again from the new table's current
    // row after each catch-up; only after several catch-ups is it refused for good.
    async fn refused(ddl: &OnlineDdl, state: &mut OnlineDdlState, what: &str) {
        for _ in 0..=RESYNC_ATTEMPTS {
            match ddl.apply_reverse_changes(state).await {
                Ok(_) => assert!(!state.reverse_deferred.is_empty(), "{what}: the row waits"),
                Err(OnlineDdlError::RevertIncompatible { table, reason }) => {
                    assert_eq!(table, "codes");
                    assert!(reason.contains(what), "{reason}");
                    return;
                }
                Err(other) => panic!("expected RevertIncompatible ({what}), got {other:?}"),
            }
        }
        panic!("{what}: never refused");
    }

    // A value too long for the old VARCHAR(8).
    fixture
        .exec("INSERT INTO codes VALUES (4, 'much-too-long-code', 'w')")
        .await
        .unwrap();
    refused(&ddl, &mut state, "Data truncated").await;
    // It stays refused while the row is as it is.
    assert!(matches!(
        ddl.apply_reverse_changes(&mut state).await,
        Err(OnlineDdlError::RevertIncompatible { .. })
    ));
    // Fixed by the application: judged on the row as it is now, the stream moves on.
    fixture
        .exec("UPDATE codes SET code = 'd' WHERE id = 4")
        .await
        .unwrap();
    ddl.apply_reverse_changes(&mut state).await.unwrap();

    // NULL in a column that was NOT NULL.
    fixture
        .exec("INSERT INTO codes VALUES (5, 'e', NULL)")
        .await
        .unwrap();
    refused(&ddl, &mut state, "cannot be null").await;
    fixture
        .exec("DELETE FROM codes WHERE id = 5")
        .await
        .unwrap();
    ddl.apply_reverse_changes(&mut state).await.unwrap();

    // A replay after a crash meets rows written further on (the old table is ahead of the
    // stream): `r` is taken by row 1 when row 20's first image (with `r`) is replayed.
    let before = state.reverse_applied_position.clone();
    fixture
        .exec(
            "INSERT INTO codes VALUES (20, 'r', 'n'); DELETE FROM codes WHERE id = 3; \
             UPDATE codes SET code = 's' WHERE id = 20; UPDATE codes SET code = 'r' WHERE id = 1",
        )
        .await
        .unwrap();
    ddl.apply_reverse_changes(&mut state).await.unwrap();
    state.reverse_applied_position = before;
    ddl.apply_reverse_changes(&mut state).await.unwrap();

    // A duplicate in the unique key the deploy dropped; a transient one resolves.
    fixture
        .exec("INSERT INTO codes VALUES (6, 'a', 'dup'); UPDATE codes SET code = 'f' WHERE id = 6")
        .await
        .unwrap();
    ddl.apply_reverse_changes(&mut state).await.unwrap();
    fixture
        .exec("INSERT INTO codes VALUES (7, 'b', 'dup')")
        .await
        .unwrap();
    refused(&ddl, &mut state, "duplicate").await;

    // The revert refuses too, and swaps nothing.
    let revert = ddl
        .revert_many(std::slice::from_mut(&mut state), &CutoverOptions::default())
        .await;
    assert!(
        matches!(revert, Err(OnlineDdlError::RevertIncompatible { .. })),
        "{revert:?}"
    );
    assert_eq!(state.phase, Phase::CutOver);
    assert!(!fixture.show_create("codes").await.contains("uk_code"));

    // Once the duplicate is gone, the revert goes through with every other row.
    fixture
        .exec("UPDATE codes SET code = 'g' WHERE id = 7")
        .await
        .unwrap();
    ddl.revert_many(std::slice::from_mut(&mut state), &CutoverOptions::default())
        .await
        .unwrap();
    assert!(fixture.show_create("codes").await.contains("uk_code"));
    let mut conn = fixture.conn().await;
    use mysql_async::prelude::Queryable;
    let rows: Vec<(i64, String, String)> = conn
        .query("SELECT id, code, note FROM codes ORDER BY id")
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    let expected: Vec<(i64, String, String)> = [
        (1, "r", "x"),
        (2, "b", "y"),
        (4, "d", "w"),
        (6, "f", "dup"),
        (7, "g", "dup"),
        (20, "s", "n"),
    ]
    .into_iter()
    .map(|(id, code, note)| (id, code.into(), note.into()))
    .collect();
    assert_eq!(rows, expected);
    ddl.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cutover_many_swaps_every_table_in_one_rename() {
    let fixture = Fixture::start().await;
    // `alpha` sorts before `beta`: the RENAME locks them in that order.
    let seeded_beta = fixture.seed_table("beta", 8_000).await;
    let seeded_alpha = fixture.seed_table("alpha", 8_000).await;
    let ddl = OnlineDdl::new(&fixture.url()).unwrap();
    let alpha_writers = Writers::start(&fixture, "alpha", &seeded_alpha).await;
    let beta_writers = Writers::start(&fixture, "beta", &seeded_beta).await;

    let beta = prepare_and_copy(&ddl, "beta", ADD_COLUMN).await;
    let alpha = prepare_and_copy(&ddl, "alpha", "MODIFY b VARCHAR(100) NOT NULL").await;
    let mut states = vec![beta, alpha];
    let saved = states.clone();
    let outcome = ddl
        .cutover_many(&mut states, &CutoverOptions::default())
        .await
        .expect("cutover");
    println!("cutover of 2 tables: {outcome:?}");
    assert!(states.iter().all(|s| s.phase == Phase::CutOver));
    assert_eq!(states[0].cutover_position, states[1].cutover_position);

    alpha_writers.wait_for_more(200).await;
    beta_writers.wait_for_more(200).await;
    let (alpha_expected, alpha_errors) = alpha_writers.finish().await;
    let (beta_expected, beta_errors) = beta_writers.finish().await;
    println!("writer errors: {alpha_errors} + {beta_errors}");
    assert_same_rows(&alpha_expected, &fixture.table_rows("alpha").await);
    assert_same_rows(&beta_expected, &fixture.table_rows("beta").await);
    assert!(fixture.show_create("beta").await.contains("`extra`"));
    assert!(fixture.show_create("alpha").await.contains("varchar(100)"));

    // A crash after the RENAME lost the states: the resumed cutover finds the swap and the
    // position the reverse stream starts from.
    let mut resumed = saved;
    let again = ddl
        .cutover_many(&mut resumed, &CutoverOptions::default())
        .await
        .unwrap();
    assert!(again.already_done);
    for (resumed, state) in resumed.iter().zip(&states) {
        assert_eq!(resumed.phase, Phase::CutOver);
        // At or after the recorded one (the drain's own writes to the shadow follow it),
        // and before the RENAME: nothing wrote the live tables in between.
        let found = resumed.cutover_position.clone().unwrap();
        assert!(
            found >= state.cutover_position.clone().unwrap(),
            "{found:?}"
        );
    }
    // And feeding the old tables from there works.
    for state in &mut resumed {
        ddl.apply_reverse_changes(state).await.unwrap();
    }
    assert_same_rows(&beta_expected, &fixture.table_rows("_beta_dbp_old").await);

    for state in &states {
        ddl.drop_artifacts(state).await.unwrap();
    }
    assert_eq!(fixture.tables().await, ["alpha", "beta"]);
    ddl.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_drops_the_shadow_before_cutover_only() {
    let fixture = Fixture::start().await;
    fixture.seed_table("items", 3_000).await;
    let ddl = OnlineDdl::new(&fixture.url()).unwrap();
    let mut state = prepare_and_copy(&ddl, "items", ADD_COLUMN).await;
    assert!(fixture.tables().await.contains(&"_items_dbp_new".into()));
    ddl.cancel(&state).await.unwrap();
    ddl.cancel(&state).await.unwrap();
    assert_eq!(fixture.tables().await, ["items"]);

    let mut state2 = prepare_and_copy(&ddl, "items", ADD_COLUMN).await;
    ddl.cutover(&mut state2, &CutoverOptions::default())
        .await
        .unwrap();
    assert!(ddl.cancel(&state2).await.is_err());
    // A stale state that missed the swap does not drop the live data either.
    state.phase = Phase::CatchingUp;
    assert!(ddl.cancel(&state).await.is_err());
    ddl.drop_artifacts(&state2).await.unwrap();
    assert_eq!(fixture.tables().await, ["items"]);
    ddl.disconnect().await.unwrap();
}
