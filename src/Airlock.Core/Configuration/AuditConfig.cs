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

/// <summary>What a client's complete answer waits for (<c>audit.durable</c>).</summary>
public enum AuditDurability
{
    /// <summary>
    /// <c>journal</c>, and what <c>true</c> (the default) means with the SQLite store: once a request's upstream send has
    /// started, its record as it stands (outcome <c>interrupted</c>) is written to the audit journal in the data
    /// directory; the answer's last bytes wait for the final record's write to the journal, and the store commits it
    /// afterwards. The writes go to the page cache, so a process crash loses nothing (the same guarantee as the SQLite
    /// commit, which never fsyncs either) and a crash mid-stream leaves an <c>interrupted</c> record.
    /// With <c>audit.journal.fsync: true</c> begin entries are fsync'd too (a power loss keeps the begin record).
    /// </summary>
    Journal,

    /// <summary>
    /// <c>commit</c>, and what <c>true</c> means with the PostgreSQL store (the record must leave the box: a stateless
    /// gateway container may have no persistent data directory): the last bytes wait until the full record is committed
    /// to the store (or spooled).
    /// </summary>
    Commit,

    /// <summary><c>false</c>: nothing waits (measuring what durability costs); a crash can lose answered requests' records.</summary>
    Off,
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
    /// <c>audit.durable</c>: what a response's last bytes wait for. Unset (or <c>true</c>) it follows the store:
    /// <see cref="AuditDurability.Journal"/> with SQLite (the journal lives on the store's disk: same guarantee, without
    /// the commit on the critical path), <see cref="AuditDurability.Commit"/> with PostgreSQL.
    /// </summary>
    public AuditDurability Durability
    {
        get => _durability ?? (Store == AuditStoreKind.Postgres ? AuditDurability.Commit : AuditDurability.Journal);
        init => _durability = value;
    }

    private readonly AuditDurability? _durability;

    /// <summary>
    /// <c>audit.journal.fsync</c> (default false): the journal fsyncs begin entries and the answer waits for that too
    /// (session 6's journal), so the begin record of a forwarded request survives a power loss, not only a process crash.
    /// </summary>
    public bool JournalFsync { get; init; }

    /// <summary><c>audit.spool.max_bytes</c>: largest size of the spool file (default 256 MiB); when full, requests are refused.</summary>
    public long SpoolMaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary><c>audit.checkpoint_interval</c>: how often the chain head is signed while records arrive (default 30s).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <c>audit.shutdown_timeout</c> (default 30s): how long shutdown waits for queued records to reach the store. Records
    /// not committed by then go to the spool, or are logged as lost (count and request ids) and the process exits non-zero.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>audit.capture</c>: which content is kept, per team or key, and the master key that protects it.</summary>
    public CaptureConfig Capture { get; init; } = new();

    /// <summary><c>audit.retention</c>: how long content and metadata are kept, and how often the purge job runs.</summary>
    public RetentionConfig Retention { get; init; } = new();
}

/// <summary>The <c>audit.capture:</c> section.</summary>
public sealed record CaptureConfig
{
    /// <summary><c>audit.capture.default</c>: none (default), metadata, redacted or full.</summary>
    public Audit.Capture.CaptureMode Default { get; init; } = Audit.Capture.CaptureMode.None;

    /// <summary><c>audit.capture.teams.&lt;team&gt;</c>: per-team modes.</summary>
    public IReadOnlyDictionary<string, Audit.Capture.CaptureMode> Teams { get; init; } = new Dictionary<string, Audit.Capture.CaptureMode>(StringComparer.Ordinal);

    /// <summary><c>audit.capture.keys.&lt;key id&gt;</c>: per-key modes (win over the team's).</summary>
    public IReadOnlyDictionary<string, Audit.Capture.CaptureMode> Keys { get; init; } = new Dictionary<string, Audit.Capture.CaptureMode>(StringComparer.Ordinal);

    /// <summary><c>audit.capture.master_key_file</c>: file holding the 256-bit master key (raw, base64 or hex).</summary>
    public string? MasterKeyFile { get; init; }

    /// <summary><c>audit.capture.master_key_env</c>: environment variable holding the master key (base64 or hex).</summary>
    public string? MasterKeyEnv { get; init; }

    /// <summary><c>audit.capture.max_bytes</c>: request and response are each cut to this many bytes (default 1 MiB).</summary>
    public int MaxBytes { get; init; } = 1024 * 1024;

    /// <summary>True when some team, key or the default stores content (a master key is then required).</summary>
    public bool StoresContent => Audit.Capture.CaptureModes.StoresContent(Default)
        || Teams.Values.Any(Audit.Capture.CaptureModes.StoresContent) || Keys.Values.Any(Audit.Capture.CaptureModes.StoresContent);

    /// <summary>The mode for a request by <paramref name="keyId"/> of <paramref name="team"/>: key, then team, then default.</summary>
    public Audit.Capture.CaptureMode ModeFor(string? team, string? keyId) =>
        keyId is not null && Keys.TryGetValue(keyId, out var byKey) ? byKey
        : team is not null && Teams.TryGetValue(team, out var byTeam) ? byTeam
        : Default;
}

/// <summary>Retention periods: one pair for everybody, overridable per team.</summary>
/// <param name="Content">How long captured content is kept (0–90 days; 0 keeps none).</param>
/// <param name="Metadata">How long chained records are kept (1–7 years).</param>
/// <param name="FullContent">How long content captured in <c>full</c> mode is kept, when shorter than <paramref name="Content"/> (null: same).</param>
public sealed record RetentionPeriods(TimeSpan Content, TimeSpan Metadata, TimeSpan? FullContent = null)
{
    /// <summary>How long content of <paramref name="mode"/> is kept.</summary>
    public TimeSpan ContentFor(string mode) => mode == "full" && FullContent is { } full ? full : Content;
}

/// <summary>The <c>audit.retention:</c> section.</summary>
public sealed record RetentionConfig
{
    /// <summary>Defaults: content 30 days, metadata 2 years (730 days).</summary>
    public RetentionPeriods Default { get; init; } = new(TimeSpan.FromDays(30), TimeSpan.FromDays(730));

    /// <summary><c>audit.retention.teams.&lt;team&gt;</c>: per-team periods.</summary>
    public IReadOnlyDictionary<string, RetentionPeriods> Teams { get; init; } = new Dictionary<string, RetentionPeriods>(StringComparer.Ordinal);

    /// <summary><c>audit.retention.purge_interval</c>: how often the gateway's purge job runs (default 1h).</summary>
    public TimeSpan PurgeInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary><c>audit.retention.enabled</c>: false stops the gateway's purge job (the CLI can still purge). Default true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The periods for <paramref name="team"/>.</summary>
    public RetentionPeriods For(string? team) => team is not null && Teams.TryGetValue(team, out var periods) ? periods : Default;

    /// <summary>The longest content retention of any team (data keys older than this are destroyed).</summary>
    public TimeSpan LongestContent => Teams.Values.Append(Default).Max(p => p.Content);
}
