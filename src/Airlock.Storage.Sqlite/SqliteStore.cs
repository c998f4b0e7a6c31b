using System.Collections.Concurrent;
using System.Globalization;
using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Microsoft.Data.Sqlite;

namespace Airlock.Storage.Sqlite;

/// <summary>
/// The embedded store: keys and the audit trail in one SQLite database in WAL mode, so the gateway
/// and the CLI (<c>airlock keys</c>, <c>airlock audit</c>) can use it at the same time.
/// </summary>
public sealed partial class SqliteStore : IKeyStore, IAuditStore, IDisposable
{
    // 1: keys and model-call audit records. 2: audit record kind and Claude Code tool-event columns.
    // 3: hash chain (seq, prev_hash, hash) and signed checkpoints.
    // 4: identity commitments and purge details (chain encoding version 2), captured content and its data keys.
    // 5: admin records' detail column (chain encoding version 3).
    private const int SchemaVersion = 5;
    private const string KeyColumns = "id, hash, user_name, team, role, created_at, expires_at, revoked_at, description";
    private readonly string _connectionString;

    // Key lookups run on every request: each lookup keeps its connection open and its statement prepared,
    // so a lookup is one indexed read, not an open + pragma + parse.
    private readonly ConcurrentBag<KeyLookup> _keyLookups = [];
    private readonly SemaphoreSlim _appendGate = new(1, 1);
    private AuditAppender? _appender;

    private SqliteStore(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating and migrating if needed) the database <c>airlock.db</c> in <paramref name="dataDir"/>.</summary>
    public static async Task<SqliteStore> OpenAsync(string dataDir, CancellationToken cancellationToken = default)
    {
        DataDirectory.Ensure(dataDir);
        var store = new SqliteStore(System.IO.Path.Combine(dataDir, "airlock.db"));
        await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        DataDirectory.RestrictFile(store.Path);
        return store;
    }

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // Per-connection settings: WAL tolerates crashes of the process without losing committed rows.
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        using var version = connection.CreateCommand();
        version.CommandText = "PRAGMA user_version;";
        var current = Convert.ToInt32(await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (current > SchemaVersion)
        {
            throw new InvalidOperationException($"{Path}: database schema version {current} is newer than this Airlock ({SchemaVersion}); upgrade Airlock.");
        }
        if (current == SchemaVersion)
        {
            return;
        }
        // Microsoft.Data.Sqlite begins IMMEDIATE transactions by default: a second process migrating at the same time waits, then sees the new version.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        version.Transaction = transaction;
        current = Convert.ToInt32(await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (current < 1)
        {
            await ExecuteAsync(connection, transaction, SchemaV1, cancellationToken).ConfigureAwait(false);
        }
        if (current < 2)
        {
            await ExecuteAsync(connection, transaction, SchemaV2, cancellationToken).ConfigureAwait(false);
        }
        if (current < 3)
        {
            await ExecuteAsync(connection, transaction, SchemaV3, cancellationToken).ConfigureAwait(false);
        }
        if (current < 4)
        {
            await ExecuteAsync(connection, transaction, SchemaV4, cancellationToken).ConfigureAwait(false);
        }
        if (current < 5)
        {
            await ExecuteAsync(connection, transaction, SchemaV5, cancellationToken).ConfigureAwait(false);
        }
        if (current < 3)
        {
            // After the schema 4 and 5 columns exist: rows chained now get encoding version 2 (identity commitments).
            await ChainExistingRecordsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        }
        await ExecuteAsync(connection, transaction, $"PRAGMA user_version = {SchemaVersion};", cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private const string SchemaV1 = """
        CREATE TABLE IF NOT EXISTS api_keys (
            id           TEXT PRIMARY KEY,
            hash         BLOB NOT NULL,
            user_name    TEXT NOT NULL,
            team         TEXT,
            role         TEXT NOT NULL,
            created_at   INTEGER NOT NULL,
            expires_at   INTEGER,
            revoked_at   INTEGER,
            description  TEXT
        );
        CREATE TABLE IF NOT EXISTS audit_records (
            seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id            TEXT NOT NULL,
            time                  INTEGER NOT NULL,
            door                  TEXT NOT NULL,
            operation             TEXT NOT NULL,
            key_id                TEXT,
            user_name             TEXT,
            team                  TEXT,
            session_id            TEXT,
            model                 TEXT,
            upstream              TEXT,
            status                INTEGER NOT NULL,
            outcome               TEXT NOT NULL,
            error_type            TEXT,
            latency_ms            REAL NOT NULL,
            ttfb_ms               REAL,
            input_tokens          INTEGER,
            output_tokens         INTEGER,
            cache_read_tokens     INTEGER,
            cache_creation_tokens INTEGER,
            request_bytes         INTEGER NOT NULL,
            response_bytes        INTEGER NOT NULL,
            body_sha256           TEXT,
            upstream_request_id   TEXT,
            user_agent            TEXT,
            client_address        TEXT,
            findings              TEXT
        );
        CREATE INDEX IF NOT EXISTS ix_audit_time ON audit_records(time);
        CREATE INDEX IF NOT EXISTS ix_audit_user_time ON audit_records(user_name, time);
        CREATE INDEX IF NOT EXISTS ix_audit_session ON audit_records(session_id);
        """;

    // Existing rows are model calls: the kind defaults to 'request' and the tool columns stay null.
    private const string SchemaV2 = """
        ALTER TABLE audit_records ADD COLUMN kind TEXT NOT NULL DEFAULT 'request';
        ALTER TABLE audit_records ADD COLUMN tool_event TEXT;
        ALTER TABLE audit_records ADD COLUMN tool_name TEXT;
        ALTER TABLE audit_records ADD COLUMN tool_file_paths TEXT;
        ALTER TABLE audit_records ADD COLUMN tool_command TEXT;
        ALTER TABLE audit_records ADD COLUMN tool_command_truncated INTEGER;
        ALTER TABLE audit_records ADD COLUMN tool_decision TEXT;
        ALTER TABLE audit_records ADD COLUMN tool_decision_reason TEXT;
        ALTER TABLE audit_records ADD COLUMN tool_duration_ms REAL;
        ALTER TABLE audit_records ADD COLUMN tool_cwd TEXT;
        ALTER TABLE audit_records ADD COLUMN tool_event_id TEXT;
        CREATE UNIQUE INDEX IF NOT EXISTS ux_audit_tool_event_id ON audit_records(tool_event_id) WHERE tool_event_id IS NOT NULL;
        """;

    /// <inheritdoc/>
    public async Task CreateKeyAsync(KeyRecord key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO api_keys (id, hash, user_name, team, role, created_at, expires_at, revoked_at, description)
            VALUES ($id, $hash, $user, $team, $role, $created, $expires, $revoked, $description)
            """;
        command.Parameters.AddWithValue("$id", key.Id);
        command.Parameters.AddWithValue("$hash", key.Hash);
        command.Parameters.AddWithValue("$user", key.User);
        command.Parameters.AddWithValue("$team", (object?)key.Team ?? DBNull.Value);
        command.Parameters.AddWithValue("$role", key.Role.ToString().ToLowerInvariant());
        command.Parameters.AddWithValue("$created", key.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$expires", (object?)key.ExpiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$revoked", (object?)key.RevokedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$description", (object?)key.Description ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<KeyRecord?> FindKeyAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!_keyLookups.TryTake(out var lookup))
        {
            lookup = await KeyLookup.OpenAsync(this, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            lookup.Id.Value = id;
            KeyRecord? record;
            await using (var reader = await lookup.Command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                record = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadKey(reader) : null;
            }
            _keyLookups.Add(lookup);
            return record;
        }
        catch
        {
            lookup.Dispose();
            throw;
        }
    }

    /// <summary>Closes the kept-open lookup connections.</summary>
    public void Dispose()
    {
        while (_keyLookups.TryTake(out var lookup))
        {
            lookup.Dispose();
        }
        _appender?.Dispose();
        _appender = null;
        _appendGate.Dispose();
    }

    private sealed class KeyLookup : IDisposable
    {
        private readonly SqliteConnection _connection;

        private KeyLookup(SqliteConnection connection, SqliteCommand command, SqliteParameter id)
        {
            _connection = connection;
            Command = command;
            Id = id;
        }

        public SqliteCommand Command { get; }

        public SqliteParameter Id { get; }

        public static async Task<KeyLookup> OpenAsync(SqliteStore store, CancellationToken cancellationToken)
        {
            var connection = await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var command = connection.CreateCommand();
            command.CommandText = $"SELECT {KeyColumns} FROM api_keys WHERE id = $id";
            var id = command.Parameters.Add(new SqliteParameter { ParameterName = "$id", Value = "" });
            command.Prepare();
            return new KeyLookup(connection, command, id);
        }

        public void Dispose()
        {
            Command.Dispose();
            _connection.Dispose();
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<KeyRecord>> ListKeysAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {KeyColumns} FROM api_keys ORDER BY created_at DESC, id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<KeyRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(ReadKey(reader));
        }
        return keys;
    }

    /// <inheritdoc/>
    public async Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE api_keys SET revoked_at = $at WHERE id = $id AND revoked_at IS NULL";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private static KeyRecord ReadKey(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Hash = (byte[])reader.GetValue(1),
        User = reader.GetString(2),
        Team = reader.IsDBNull(3) ? null : reader.GetString(3),
        Role = Enum.Parse<KeyRole>(reader.GetString(4), ignoreCase: true),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
        ExpiresAt = reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
        RevokedAt = reader.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
        Description = reader.IsDBNull(8) ? null : reader.GetString(8),
    };
}
