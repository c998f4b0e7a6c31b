using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Storage.Postgres;
using Airlock.Storage.Sqlite;

namespace Airlock.Gateway.Audit;

/// <summary>An audit store opened from the configuration, with the data directory its signing key lives in.</summary>
public sealed class OpenedAuditStore : IAsyncDisposable
{
    private readonly IDisposable? _owned;

    internal OpenedAuditStore(IAuditStore store, string dataDir, IDisposable? owned)
    {
        Store = store;
        DataDir = dataDir;
        _owned = owned;
    }

    /// <summary>The store.</summary>
    public IAuditStore Store { get; }

    /// <summary>Data directory (signing key).</summary>
    public string DataDir { get; }

    /// <summary>The checkpoint-signing key, or null when none was created yet.</summary>
    public AuditSigningKey? LoadSigningKey() => AuditStores.LoadSigningKey(DataDir);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _owned?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Opens the configured audit store and finds the checkpoint-signing key (CLI and gateway share this).</summary>
public static class AuditStores
{
    /// <summary>Opens the audit store the configuration names (the CLI: it owns what it opens).</summary>
    /// <exception cref="ConfigurationException">The PostgreSQL connection string variable is unset or the server cannot be reached.</exception>
    public static async Task<OpenedAuditStore> OpenAsync(AirlockConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Audit.Store == AuditStoreKind.Postgres)
        {
            var postgres = await OpenPostgresAsync(config, Environment.GetEnvironmentVariable, cancellationToken).ConfigureAwait(false);
            return new OpenedAuditStore(postgres, config.DataDir, postgres);
        }
        var sqlite = await OpenSqliteAsync(config, cancellationToken).ConfigureAwait(false);
        return new OpenedAuditStore(sqlite, config.DataDir, sqlite);
    }

    /// <summary>
    /// Opens the embedded SQLite store of the data directory. A damaged file (corrupted pages, not a database, unreadable)
    /// becomes a <see cref="ConfigurationException"/> naming the file, instead of a crash with a stack trace.
    /// </summary>
    /// <exception cref="ConfigurationException">The database file cannot be opened or migrated.</exception>
    public static async Task<SqliteStore> OpenSqliteAsync(AirlockConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        try
        {
            return await SqliteStore.OpenAsync(config.DataDir, cancellationToken).ConfigureAwait(false);
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            var path = Path.Combine(config.DataDir, "airlock.db");
            throw new ConfigurationException(config.Source, [$"data_dir: {path} is not a usable SQLite database ({ex.Message.TrimEnd('.')}); " +
                "move it aside and restore it from a backup (the audit trail in it can be checked with airlock audit verify once it opens)"]);
        }
    }

    /// <summary>
    /// The gateway's audit store: the already open SQLite store (not owned), or PostgreSQL when configured (owned:
    /// disposing the result closes it).
    /// </summary>
    public static async Task<OpenedAuditStore> OpenForGatewayAsync(AirlockConfig config, SqliteStore sqlite, Func<string, string?> getEnvironment,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Audit.Store == AuditStoreKind.Postgres)
        {
            var postgres = await OpenPostgresAsync(config, getEnvironment, cancellationToken).ConfigureAwait(false);
            return new OpenedAuditStore(postgres, config.DataDir, postgres);
        }
        return new OpenedAuditStore(sqlite, config.DataDir, owned: null);
    }

    private static async Task<PostgresAuditStore> OpenPostgresAsync(AirlockConfig config, Func<string, string?> getEnvironment, CancellationToken cancellationToken)
    {
        const string Key = "audit.postgres.connection_string_env";
        var variable = config.Audit.PostgresConnectionStringEnv
            ?? throw new ConfigurationException(config.Source, [$"{Key}: required when audit.store is postgres"]);
        if (getEnvironment(variable) is not { Length: > 0 } connectionString)
        {
            throw new ConfigurationException(config.Source, [$"{Key}: environment variable {variable} is not set"]);
        }
        try
        {
            return await PostgresAuditStore.OpenAsync(connectionString, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or ArgumentException or InvalidOperationException)
        {
            // Npgsql messages name host and port, never the password; the connection string itself is not echoed.
            throw new ConfigurationException(config.Source, [$"audit.store: postgres (from {variable}): {ex.Message}"]);
        }
    }

    /// <summary>Path of the signing key in <paramref name="dataDir"/>.</summary>
    public static string SigningKeyPath(string dataDir) => Path.Combine(dataDir, AuditSigningKey.FileName);

    /// <summary>The signing key in <paramref name="dataDir"/>, or null when it does not exist yet.</summary>
    public static AuditSigningKey? LoadSigningKey(string dataDir)
    {
        var path = SigningKeyPath(dataDir);
        return File.Exists(path) ? AuditSigningKey.Load(path) : null;
    }

    /// <summary>The signing key in <paramref name="dataDir"/>, created (0600) on first use.</summary>
    public static AuditSigningKey LoadOrCreateSigningKey(string dataDir)
    {
        DataDirectory.Ensure(dataDir);
        return AuditSigningKey.LoadOrCreate(SigningKeyPath(dataDir));
    }
}
