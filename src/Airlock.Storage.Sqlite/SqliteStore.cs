using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Microsoft.Data.Sqlite;

namespace Airlock.Storage.Sqlite;

/// <summary>
/// The embedded store: keys and the audit trail in one SQLite database in WAL mode, so the gateway
/// and the CLI (<c>airlock keys</c>, <c>airlock audit</c>) can use it at the same time.
/// </summary>
public sealed class SqliteStore : IKeyStore, IAuditStore, IDisposable
{
    // 1: keys and model-call audit records. 2: audit record kind and Claude Code tool-event columns.
    private const int SchemaVersion = 2;
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

    /// <inheritdoc/>
    public async Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }
        // One writer connection with a prepared insert, reused batch after batch (group commit: one
        // transaction per batch). Serialized: SQLite has one writer at a time anyway.
        await _appendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _appender ??= await AuditAppender.OpenAsync(this, cancellationToken).ConfigureAwait(false);
            var p = _appender.Parameters;
            var command = _appender.Command;
            await using var transaction = (SqliteTransaction)await _appender.Connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            command.Transaction = transaction;
            _appender.EventIdExists.Transaction = transaction;
            HashSet<string>? batchEventIds = null;
            foreach (var r in records)
            {
                if (r.Tool?.EventId is { } eventId)
                {
                    // Idempotent delivery: a hook that resends an event (same id) adds nothing.
                    batchEventIds ??= new HashSet<string>(StringComparer.Ordinal);
                    _appender.EventIdParameter.Value = eventId;
                    if (!batchEventIds.Add(eventId) || await _appender.EventIdExists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
                    {
                        continue;
                    }
                }
                p["$kind"].Value = AuditKinds.ToText(r.Kind);
                p["$request_id"].Value = r.RequestId;
                p["$time"].Value = r.Time.ToUnixTimeMilliseconds();
                p["$door"].Value = r.Door;
                p["$operation"].Value = r.Operation;
                p["$key_id"].Value = Db(r.KeyId);
                p["$user"].Value = Db(r.User);
                p["$team"].Value = Db(r.Team);
                p["$session"].Value = Db(r.SessionId);
                p["$model"].Value = Db(r.Model);
                p["$upstream"].Value = Db(r.Upstream);
                p["$status"].Value = r.Status;
                p["$outcome"].Value = AuditOutcomes.ToText(r.Outcome);
                p["$error_type"].Value = Db(r.ErrorType);
                p["$latency"].Value = r.LatencyMs;
                p["$ttfb"].Value = (object?)r.TimeToFirstByteMs ?? DBNull.Value;
                p["$input"].Value = (object?)r.InputTokens ?? DBNull.Value;
                p["$output"].Value = (object?)r.OutputTokens ?? DBNull.Value;
                p["$cache_read"].Value = (object?)r.CacheReadTokens ?? DBNull.Value;
                p["$cache_creation"].Value = (object?)r.CacheCreationTokens ?? DBNull.Value;
                p["$request_bytes"].Value = r.RequestBytes;
                p["$response_bytes"].Value = r.ResponseBytes;
                p["$sha"].Value = Db(r.BodySha256);
                p["$upstream_request_id"].Value = Db(r.UpstreamRequestId);
                p["$user_agent"].Value = Db(r.UserAgent);
                p["$client_address"].Value = Db(r.ClientAddress);
                p["$findings"].Value = r.Findings.Count == 0 ? DBNull.Value : JsonSerializer.Serialize(r.Findings, StoreJsonContext.Default.IReadOnlyListAuditFinding);
                var tool = r.Tool;
                p["$tool_event"].Value = Db(tool?.HookEvent);
                p["$tool_name"].Value = Db(tool?.ToolName);
                p["$tool_file_paths"].Value = tool is { FilePaths.Count: > 0 } ? JsonSerializer.Serialize(tool.FilePaths, StoreJsonContext.Default.IReadOnlyListString) : DBNull.Value;
                p["$tool_command"].Value = Db(tool?.Command);
                p["$tool_command_truncated"].Value = tool is null ? DBNull.Value : tool.CommandTruncated ? 1 : 0;
                p["$tool_decision"].Value = tool is null ? DBNull.Value : ToolDecisions.ToText(tool.Decision);
                p["$tool_decision_reason"].Value = Db(tool?.DecisionReason);
                p["$tool_duration_ms"].Value = (object?)tool?.DurationMs ?? DBNull.Value;
                p["$tool_cwd"].Value = Db(tool?.Cwd);
                p["$tool_event_id"].Value = Db(tool?.EventId);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A broken connection is not reused: the next batch opens a fresh one.
            _appender?.Dispose();
            _appender = null;
            throw;
        }
        finally
        {
            _appendGate.Release();
        }
    }

    private sealed class AuditAppender : IDisposable
    {
        private static readonly string[] ParameterNames =
        [
            "$request_id", "$time", "$door", "$operation", "$key_id", "$user", "$team", "$session", "$model", "$upstream",
            "$status", "$outcome", "$error_type", "$latency", "$ttfb", "$input", "$output", "$cache_read", "$cache_creation",
            "$request_bytes", "$response_bytes", "$sha", "$upstream_request_id", "$user_agent", "$client_address", "$findings",
            "$kind", "$tool_event", "$tool_name", "$tool_file_paths", "$tool_command", "$tool_command_truncated", "$tool_decision",
            "$tool_decision_reason", "$tool_duration_ms", "$tool_cwd", "$tool_event_id",
        ];

        private AuditAppender(SqliteConnection connection, SqliteCommand command, Dictionary<string, SqliteParameter> parameters,
            SqliteCommand eventIdExists, SqliteParameter eventIdParameter)
        {
            Connection = connection;
            Command = command;
            Parameters = parameters;
            EventIdExists = eventIdExists;
            EventIdParameter = eventIdParameter;
        }

        public SqliteCommand EventIdExists { get; }

        public SqliteParameter EventIdParameter { get; }

        public SqliteConnection Connection { get; }

        public SqliteCommand Command { get; }

        public Dictionary<string, SqliteParameter> Parameters { get; }

        public static async Task<AuditAppender> OpenAsync(SqliteStore store, CancellationToken cancellationToken)
        {
            var connection = await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO audit_records (request_id, time, door, operation, key_id, user_name, team, session_id, model, upstream,
                    status, outcome, error_type, latency_ms, ttfb_ms, input_tokens, output_tokens, cache_read_tokens,
                    cache_creation_tokens, request_bytes, response_bytes, body_sha256, upstream_request_id, user_agent,
                    client_address, findings, kind, tool_event, tool_name, tool_file_paths, tool_command, tool_command_truncated,
                    tool_decision, tool_decision_reason, tool_duration_ms, tool_cwd, tool_event_id)
                VALUES ($request_id, $time, $door, $operation, $key_id, $user, $team, $session, $model, $upstream,
                    $status, $outcome, $error_type, $latency, $ttfb, $input, $output, $cache_read,
                    $cache_creation, $request_bytes, $response_bytes, $sha, $upstream_request_id, $user_agent,
                    $client_address, $findings, $kind, $tool_event, $tool_name, $tool_file_paths, $tool_command, $tool_command_truncated,
                    $tool_decision, $tool_decision_reason, $tool_duration_ms, $tool_cwd, $tool_event_id)
                """;
            var parameters = new Dictionary<string, SqliteParameter>(StringComparer.Ordinal);
            foreach (var name in ParameterNames)
            {
                parameters[name] = command.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
            }
            command.Prepare();
            var exists = connection.CreateCommand();
            exists.CommandText = "SELECT 1 FROM audit_records WHERE tool_event_id = $event_id LIMIT 1";
            var eventId = exists.Parameters.Add(new SqliteParameter { ParameterName = "$event_id", Value = "" });
            exists.Prepare();
            return new AuditAppender(connection, command, parameters, exists, eventId);
        }

        public void Dispose()
        {
            EventIdExists.Dispose();
            Command.Dispose();
            Connection.Dispose();
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        var where = new List<string>();
        if (query.User is not null)
        {
            where.Add("user_name = $user");
            command.Parameters.AddWithValue("$user", query.User);
        }
        if (query.SessionId is not null)
        {
            where.Add("session_id = $session");
            command.Parameters.AddWithValue("$session", query.SessionId);
        }
        if (query.Kind is { } kind)
        {
            where.Add("kind = $kind");
            command.Parameters.AddWithValue("$kind", AuditKinds.ToText(kind));
        }
        if (query.Since is { } since)
        {
            where.Add("time >= $since");
            command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        }
        command.Parameters.AddWithValue("$limit", Math.Clamp(query.Limit, 1, 100_000));
        command.CommandText = $"""
            SELECT request_id, time, door, operation, key_id, user_name, team, session_id, model, upstream,
                status, outcome, error_type, latency_ms, ttfb_ms, input_tokens, output_tokens, cache_read_tokens,
                cache_creation_tokens, request_bytes, response_bytes, body_sha256, upstream_request_id, user_agent,
                client_address, findings, kind, tool_event, tool_name, tool_file_paths, tool_command, tool_command_truncated,
                tool_decision, tool_decision_reason, tool_duration_ms, tool_cwd, tool_event_id
            FROM audit_records {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")}
            ORDER BY seq DESC LIMIT $limit
            """;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<AuditRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(new AuditRecord
            {
                RequestId = reader.GetString(0),
                Time = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                Door = reader.GetString(2),
                Operation = reader.GetString(3),
                KeyId = Str(reader, 4),
                User = Str(reader, 5),
                Team = Str(reader, 6),
                SessionId = Str(reader, 7),
                Model = Str(reader, 8),
                Upstream = Str(reader, 9),
                Status = reader.GetInt32(10),
                Outcome = AuditOutcomes.Parse(reader.GetString(11)),
                ErrorType = Str(reader, 12),
                LatencyMs = reader.GetDouble(13),
                TimeToFirstByteMs = reader.IsDBNull(14) ? null : reader.GetDouble(14),
                InputTokens = Int(reader, 15),
                OutputTokens = Int(reader, 16),
                CacheReadTokens = Int(reader, 17),
                CacheCreationTokens = Int(reader, 18),
                RequestBytes = reader.GetInt64(19),
                ResponseBytes = reader.GetInt64(20),
                BodySha256 = Str(reader, 21),
                UpstreamRequestId = Str(reader, 22),
                UserAgent = Str(reader, 23),
                ClientAddress = Str(reader, 24),
                Findings = reader.IsDBNull(25)
                    ? []
                    : JsonSerializer.Deserialize(reader.GetString(25), StoreJsonContext.Default.IReadOnlyListAuditFinding) ?? [],
                Kind = AuditKinds.Parse(reader.GetString(26)),
                Tool = reader.IsDBNull(27) ? null : new ToolEventDetails
                {
                    HookEvent = reader.GetString(27),
                    ToolName = Str(reader, 28),
                    FilePaths = reader.IsDBNull(29)
                        ? []
                        : JsonSerializer.Deserialize(reader.GetString(29), StoreJsonContext.Default.IReadOnlyListString) ?? [],
                    Command = Str(reader, 30),
                    CommandTruncated = !reader.IsDBNull(31) && reader.GetInt64(31) != 0,
                    Decision = reader.IsDBNull(32) ? ToolDecision.None : ToolDecisions.Parse(reader.GetString(32)),
                    DecisionReason = Str(reader, 33),
                    DurationMs = reader.IsDBNull(34) ? null : reader.GetDouble(34),
                    Cwd = Str(reader, 35),
                    EventId = Str(reader, 36),
                },
            });
        }
        return records;
    }

    private static object Db(string? value) => (object?)value ?? DBNull.Value;

    private static string? Str(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long? Int(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}

/// <summary>Text forms of <see cref="AuditOutcome"/> as stored and shown (<c>ok</c>, <c>upstream_error</c>, …).</summary>
public static class AuditOutcomes
{
    /// <summary>Stored text of an outcome.</summary>
    public static string ToText(AuditOutcome outcome) => outcome switch
    {
        AuditOutcome.Ok => "ok",
        AuditOutcome.UpstreamError => "upstream_error",
        AuditOutcome.ClientAbort => "client_abort",
        AuditOutcome.Rejected => "rejected",
        AuditOutcome.Blocked => "blocked",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome)),
    };

    /// <summary>Parses a stored outcome.</summary>
    public static AuditOutcome Parse(string text) => text switch
    {
        "ok" => AuditOutcome.Ok,
        "upstream_error" => AuditOutcome.UpstreamError,
        "client_abort" => AuditOutcome.ClientAbort,
        "rejected" => AuditOutcome.Rejected,
        "blocked" => AuditOutcome.Blocked,
        _ => throw new FormatException($"unknown audit outcome '{text}'"),
    };
}

[JsonSerializable(typeof(IReadOnlyList<AuditFinding>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
