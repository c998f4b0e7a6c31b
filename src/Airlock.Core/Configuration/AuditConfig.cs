namespace Airlock.Core.Configuration;

/// <summary>Where the audit trail is kept.</summary>
public enum AuditStoreKind
{
    /// <summary>The embedded SQLite database in the data directory (<c>sqlite</c>, default).</summary>
    Sqlite,

    /// <summary>A shared PostgreSQL database (<c>postgres</c>): replicas append to one chain.</summary>
    Postgres,
}

/// <summary>What the gateway does when the audit store cannot take records.</summary>
public enum AuditFailureMode
{
    /// <summary>Refuse requests until the store recovers (<c>refuse</c>, default): nothing is served unrecorded.</summary>
    Refuse,

    /// <summary>Keep serving and spool records to disk until the store recovers (<c>spool</c>).</summary>
    Spool,
}

/// <summary>The <c>audit:</c> section.</summary>
public sealed record AuditConfig
{
    /// <summary><c>audit.store</c>: sqlite (default) or postgres.</summary>
    public AuditStoreKind Store { get; init; } = AuditStoreKind.Sqlite;

    /// <summary>
    /// <c>audit.postgres.connection_string_env</c>: name of the environment variable holding the Npgsql connection
    /// string (the credential never appears in the file). Required when <see cref="Store"/> is postgres.
    /// </summary>
    public string? PostgresConnectionStringEnv { get; init; }

    /// <summary><c>audit.on_store_failure</c>: refuse (default) or spool.</summary>
    public AuditFailureMode OnStoreFailure { get; init; } = AuditFailureMode.Refuse;

    /// <summary>
    /// <c>audit.durable</c> (default true): a response's last bytes are held back until its audit record is committed
    /// (or spooled). False only for measuring what durability costs: a crash then loses the records of answered requests.
    /// </summary>
    public bool Durable { get; init; } = true;

    /// <summary><c>audit.spool.max_bytes</c>: largest size of the spool file (default 256 MiB); when full, requests are refused.</summary>
    public long SpoolMaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary><c>audit.checkpoint_interval</c>: how often the chain head is signed while records arrive (default 30s).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);
}
