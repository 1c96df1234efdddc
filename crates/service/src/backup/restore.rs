//! Restoring a backup into an empty database, and the restore drill.

use super::*;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub tables: usize,
    pub rows: u64,
    /// Migrations newer than the backup applied after loading its rows.
    pub migrated_after: usize,
}

/// Restores `backup` into `target`, which must be empty (module docs). Checks what it
/// loaded against the manifest inside the loading transaction, then applies the migrations
/// this binary has beyond the backup's.
pub async fn restore_backup(
    backup: &OpenedBackup,
    target: &Store,
) -> Result<RestoreReport, BackupError> {
    let known = dump::known_migrations();
    let wanted = &backup.manifest.migrations;
    if wanted.len() > known.len() || known[..wanted.len()] != wanted[..] {
        let unknown: Vec<&str> = wanted
            .iter()
            .filter(|m| !known.contains(m))
            .map(String::as_str)
            .collect();
        return Err(BackupError::UnknownMigrations(if unknown.is_empty() {
            "they are in another order".into()
        } else {
            unknown.join(", ")
        }));
    }
    let applied = target.applied_migrations().await?;
    if !applied.is_empty() {
        if applied.len() > wanted.len() || wanted[..applied.len()] != applied[..] {
            return Err(BackupError::TargetNotEmpty(format!(
                "{} migrations applied",
                applied.len()
            )));
        }
        if let Some(table) = dump::first_non_empty_table(target.conn()).await? {
            return Err(BackupError::TargetNotEmpty(format!(
                "table {table} holds rows"
            )));
        }
    }
    let to_apply = u32::try_from(wanted.len() - applied.len())
        .map_err(|_| BackupError::UnknownMigrations("too many".into()))?;
    dump::migrate_by(target, to_apply).await?;

    let txn = target
        .conn()
        .begin()
        .await
        .map_err(carevault_store::StoreError::from)?;
    dump::clear_seeded_tables(&txn).await?;
    let mut rows = 0;
    for (name, ndjson) in &backup.tables {
        rows += dump::load_table(&txn, name, ndjson).await?;
    }
    let names: Vec<&'static str> = backup.tables.iter().map(|(name, _)| *name).collect();
    let loaded = dump::dump_tables(&txn, &names).await?;
    backup.manifest.check(&loaded)?;
    txn.commit()
        .await
        .map_err(carevault_store::StoreError::from)?;

    let pending = target.pending_migrations().await?.len();
    target.migrate().await?;
    Ok(RestoreReport {
        tables: backup.tables.len(),
        rows,
        migrated_after: pending,
    })
}

/// Checks the tables of `store` against `manifest` (the drill, and tests).
pub async fn compare_with_manifest(store: &Store, manifest: &Manifest) -> Result<(), BackupError> {
    let mut names = Vec::with_capacity(manifest.tables.len());
    for table in &manifest.tables {
        names.push(
            dump::backup_table(&table.name)
                .ok_or_else(|| BackupDataError::UnknownTable(table.name.clone()))?,
        );
    }
    let dumps = dump::dump_tables(store.conn(), &names).await?;
    manifest.check(&dumps)
}

/// Restores the file at `path` into a scratch SQLite database beside it and checks every
/// table against the manifest; the scratch files are removed afterwards.
pub async fn restore_drill(path: &Path, keys: &KeyRing) -> Result<(), BackupError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    // A unique name: a CLI `backup create` may drill beside a running server's drill.
    let scratch = dir.join(format!(
        ".restore-drill-{}.db",
        hex::encode(carevault_crypto::random_bytes::<8>())
    ));
    let remove_scratch = || {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = scratch.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    };
    remove_scratch();
    let bytes = tokio::fs::read(path).await.map_err(io_error(path))?;
    let keys_for_open = keys.clone();
    let opened = tokio::task::spawn_blocking(move || open_backup(&bytes, &keys_for_open))
        .await
        .map_err(|_| BackupError::Failed("the drill task stopped".into()))??;
    let url = format!("sqlite://{}", scratch.display());
    let store = Store::connect(
        &url,
        &carevault_store::ConnectSettings {
            max_connections: 1,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| BackupError::Mismatch(format!("the scratch database: {e}")))?;
    let result = async {
        restore_backup(&opened, &store).await?;
        compare_with_manifest(&store, &opened.manifest).await
    }
    .await;
    store.close().await;
    remove_scratch();
    result
}
