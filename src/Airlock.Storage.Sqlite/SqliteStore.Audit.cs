using System.Runtime.CompilerServices;
using Airlock.Core.Audit;
using Microsoft.Data.Sqlite;

namespace Airlock.Storage.Sqlite;

/// <summary>The audit trail half of the store: a hash-chained append-only table and its signed checkpoints.</summary>
public sealed partial class SqliteStore
{
    // Chain columns. Rows written by schema 1 and 2 are chained in place by the migration, in seq order.
    private const string SchemaV3 = """
        ALTER TABLE audit_records ADD COLUMN prev_hash BLOB;
        ALTER TABLE audit_records ADD COLUMN hash BLOB;
        CREATE TABLE IF NOT EXISTS audit_checkpoints (
            seq        INTEGER PRIMARY KEY,
            hash       BLOB NOT NULL,
            time       INTEGER NOT NULL,
            key_id     TEXT NOT NULL,
            signature  BLOB NOT NULL
        );
        """;

    // Identity commitments and purge details (encoding version 2); captured content, encrypted, apart from the chain.
    private const string SchemaV4 = """
        ALTER TABLE audit_records ADD COLUMN identity_commitment BLOB;
        ALTER TABLE audit_records ADD COLUMN identity_salt BLOB;
        ALTER TABLE audit_records ADD COLUMN purge TEXT;
        CREATE TABLE IF NOT EXISTS audit_content (
            request_id  TEXT PRIMARY KEY,
            time        INTEGER NOT NULL,
            user_name   TEXT,
            team        TEXT,
            mode        TEXT NOT NULL,
            period      TEXT NOT NULL,
            nonce       BLOB NOT NULL,
            ciphertext  BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_audit_content_time ON audit_content(time);
        CREATE INDEX IF NOT EXISTS ix_audit_content_user ON audit_content(user_name);
        CREATE TABLE IF NOT EXISTS audit_content_keys (
            period         TEXT PRIMARY KEY,
            master_key_id  TEXT NOT NULL,
            wrapped_key    BLOB NOT NULL,
            created_at     INTEGER NOT NULL
        );
        """;

    // Admin records' own detail column (chain encoding version 3) instead of the tool-event columns.
    private const string SchemaV5 = "ALTER TABLE audit_records ADD COLUMN detail TEXT;";

    // Column order shared by every read (ReadRecord's ordinals) and the insert.
    private const string RecordColumns = """
        seq, request_id, time, door, operation, key_id, user_name, team, session_id, model, upstream,
        status, outcome, error_type, latency_ms, ttfb_ms, input_tokens, output_tokens, cache_read_tokens,
        cache_creation_tokens, request_bytes, response_bytes, body_sha256, upstream_request_id, user_agent,
        client_address, findings, kind, tool_event, tool_name, tool_file_paths, tool_command, tool_command_truncated,
        tool_decision, tool_decision_reason, tool_duration_ms, tool_cwd, tool_event_id, prev_hash, hash,
        identity_commitment, identity_salt, purge, detail
        """;

    private static readonly string[] RecordParameterNames =
    [
        "$seq", "$request_id", "$time", "$door", "$operation", "$key_id", "$user", "$team", "$session", "$model", "$upstream",
        "$status", "$outcome", "$error_type", "$latency", "$ttfb", "$input", "$output", "$cache_read", "$cache_creation",
        "$request_bytes", "$response_bytes", "$sha", "$upstream_request_id", "$user_agent", "$client_address", "$findings",
        "$kind", "$tool_event", "$tool_name", "$tool_file_paths", "$tool_command", "$tool_command_truncated", "$tool_decision",
        "$tool_decision_reason", "$tool_duration_ms", "$tool_cwd", "$tool_event_id", "$prev_hash", "$hash",
        "$identity_commitment", "$identity_salt", "$purge", "$detail",
    ];

    private const string HeadSql = "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1";

    /// <inheritdoc/>
    public async Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }
        // One writer connection with prepared statements, reused batch after batch (group commit: one
        // transaction per batch). Serialized: SQLite has one writer at a time anyway.
        await _appendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _appender ??= await AuditAppender.OpenAsync(this, cancellationToken).ConfigureAwait(false);
            var appender = _appender;
            // IMMEDIATE transaction: the head read below cannot change under us, even if another process
            // (the CLI recording an admin action) appends to the same file.
            await using var transaction = (SqliteTransaction)await appender.Connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            appender.Insert.Transaction = transaction;
            appender.EventIdExists.Transaction = transaction;
            appender.Head.Transaction = transaction;
            var head = await ReadHeadAsync(appender.Head, cancellationToken).ConfigureAwait(false);
            HashSet<string>? batchEventIds = null;
            foreach (var record in records)
            {
                if (AuditRecordText.CleanText(record.Tool?.EventId) is { } eventId)
                {
                    // Idempotent delivery: a hook that resends an event (same id) adds nothing.
                    batchEventIds ??= new HashSet<string>(StringComparer.Ordinal);
                    appender.EventIdParameter.Value = eventId;
                    if (!batchEventIds.Add(eventId) || await appender.EventIdExists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
                    {
                        continue;
                    }
                }
                (var chained, head) = head.Append(record);
                Bind(appender.Parameters, chained);
                await appender.Insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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

    private static async Task<AuditChainHead> ReadHeadAsync(SqliteCommand head, CancellationToken cancellationToken)
    {
        await using var reader = await head.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return AuditChainHead.Genesis;
        }
        return new AuditChainHead(reader.GetInt64(0), (byte[])reader.GetValue(1));
    }

    private static void Bind(Dictionary<string, SqliteParameter> p, AuditRecord r)
    {
        var link = r.Chain!;
        p["$seq"].Value = link.Sequence;
        p["$prev_hash"].Value = Convert.FromHexString(link.PreviousHash);
        p["$hash"].Value = Convert.FromHexString(link.Hash);
        p["$identity_commitment"].Value = link.IdentityCommitment is { } commitment ? Convert.FromHexString(commitment) : DBNull.Value;
        p["$identity_salt"].Value = link.IdentitySalt is { } salt ? Convert.FromHexString(salt) : DBNull.Value;
        p["$purge"].Value = Db(AuditRowLayout.PurgeJson(r.Purge));
        p["$detail"].Value = Db(r.Detail);
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
        p["$outcome"].Value = Core.Audit.AuditOutcomes.ToText(r.Outcome);
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
        p["$findings"].Value = Db(AuditRowLayout.FindingsJson(r.Findings));
        var tool = r.Tool;
        p["$tool_event"].Value = Db(tool?.HookEvent);
        p["$tool_name"].Value = Db(tool?.ToolName);
        p["$tool_file_paths"].Value = Db(AuditRowLayout.FilePathsJson(tool));
        p["$tool_command"].Value = Db(tool?.Command);
        p["$tool_command_truncated"].Value = tool is null ? DBNull.Value : tool.CommandTruncated ? 1 : 0;
        p["$tool_decision"].Value = tool is null ? DBNull.Value : ToolDecisions.ToText(tool.Decision);
        p["$tool_decision_reason"].Value = Db(tool?.DecisionReason);
        p["$tool_duration_ms"].Value = (object?)tool?.DurationMs ?? DBNull.Value;
        p["$tool_cwd"].Value = Db(tool?.Cwd);
        p["$tool_event_id"].Value = Db(tool?.EventId);
    }

    private static AuditRecord ReadRecord(SqliteDataReader reader) => AuditRowLayout.Read(reader);

    /// <summary>
    /// Schema 3 migration: chains the rows already stored, in seq order, renumbering them 1, 2, 3… (rows were never
    /// deleted before schema 3, so this only closes gaps a rolled-back insert might have left).
    /// </summary>
    private static async Task ChainExistingRecordsAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        const int Batch = 5_000;
        var head = AuditChainHead.Genesis;
        var lastOldSeq = 0L;
        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE audit_records SET seq = $new, prev_hash = $prev, hash = $hash, identity_commitment = $commitment, identity_salt = $salt WHERE seq = $old";
        var newSeq = update.Parameters.Add(new SqliteParameter { ParameterName = "$new", Value = 0L });
        var prev = update.Parameters.Add(new SqliteParameter { ParameterName = "$prev", Value = Array.Empty<byte>() });
        var hash = update.Parameters.Add(new SqliteParameter { ParameterName = "$hash", Value = Array.Empty<byte>() });
        var oldSeq = update.Parameters.Add(new SqliteParameter { ParameterName = "$old", Value = 0L });
        var commitment = update.Parameters.Add(new SqliteParameter { ParameterName = "$commitment", Value = Array.Empty<byte>() });
        var salt = update.Parameters.Add(new SqliteParameter { ParameterName = "$salt", Value = Array.Empty<byte>() });
        while (true)
        {
            // Read a batch fully before updating it: rows are renumbered downwards, never over a row not yet read.
            var batch = new List<(long Seq, AuditRecord Record)>(Batch);
            using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = $"SELECT {RecordColumns} FROM audit_records WHERE seq > $after ORDER BY seq LIMIT {Batch}";
                read.Parameters.AddWithValue("$after", lastOldSeq);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    batch.Add((reader.GetInt64(0), ReadRecord(reader)));
                }
            }
            if (batch.Count == 0)
            {
                return;
            }
            foreach (var (seq, record) in batch)
            {
                (var chained, head) = head.Append(record);
                newSeq.Value = chained.Chain!.Sequence;
                prev.Value = Convert.FromHexString(chained.Chain.PreviousHash);
                hash.Value = Convert.FromHexString(chained.Chain.Hash);
                oldSeq.Value = seq;
                commitment.Value = Convert.FromHexString(chained.Chain.IdentityCommitment!);
                salt.Value = Convert.FromHexString(chained.Chain.IdentitySalt!);
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            lastOldSeq = batch[^1].Seq;
        }
    }

    private sealed class AuditAppender : IDisposable
    {
        private AuditAppender(SqliteConnection connection)
        {
            Connection = connection;
            Insert = connection.CreateCommand();
            Insert.CommandText = $"INSERT INTO audit_records ({RecordColumns}) VALUES ({string.Join(", ", RecordParameterNames)})";
            Parameters = new Dictionary<string, SqliteParameter>(StringComparer.Ordinal);
            foreach (var name in RecordParameterNames)
            {
                Parameters[name] = Insert.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
            }
            EventIdExists = connection.CreateCommand();
            EventIdExists.CommandText = "SELECT 1 FROM audit_records WHERE tool_event_id = $event_id LIMIT 1";
            EventIdParameter = EventIdExists.Parameters.Add(new SqliteParameter { ParameterName = "$event_id", Value = "" });
            Head = connection.CreateCommand();
            Head.CommandText = HeadSql;
        }

        public SqliteConnection Connection { get; }

        public SqliteCommand Insert { get; }

        public Dictionary<string, SqliteParameter> Parameters { get; }

        public SqliteCommand EventIdExists { get; }

        public SqliteParameter EventIdParameter { get; }

        public SqliteCommand Head { get; }

        public static async Task<AuditAppender> OpenAsync(SqliteStore store, CancellationToken cancellationToken)
        {
            var connection = await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var appender = new AuditAppender(connection);
            appender.Insert.Prepare();
            appender.EventIdExists.Prepare();
            appender.Head.Prepare();
            return appender;
        }

        public void Dispose()
        {
            Head.Dispose();
            EventIdExists.Dispose();
            Insert.Dispose();
            Connection.Dispose();
        }
    }

    /// <inheritdoc/>
    public async Task<AuditChainHead> GetChainHeadAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = HeadSql;
        return await ReadHeadAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task AppendCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        // A second checkpoint of the same head (another writer, a restart) adds nothing.
        command.CommandText = """
            INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature) VALUES ($seq, $hash, $time, $key_id, $signature)
            ON CONFLICT(seq) DO NOTHING
            """;
        command.Parameters.AddWithValue("$seq", checkpoint.Sequence);
        command.Parameters.AddWithValue("$hash", Convert.FromHexString(checkpoint.Hash));
        command.Parameters.AddWithValue("$time", checkpoint.Time.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$key_id", checkpoint.KeyId);
        command.Parameters.AddWithValue("$signature", Convert.FromHexString(checkpoint.Signature));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<AuditCheckpoint> ReadCheckpointsAsync(long toSequence = long.MaxValue, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, hash, time, key_id, signature FROM audit_checkpoints WHERE seq <= $to ORDER BY seq";
        command.Parameters.AddWithValue("$to", toSequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new AuditCheckpoint(reader.GetInt64(0), Convert.ToHexStringLower((byte[])reader.GetValue(1)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3), Convert.ToHexStringLower((byte[])reader.GetValue(4)));
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<AuditRecord> ReadAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        var parameters = new List<AuditQuerySql.Parameter>();
        var where = AuditQuerySql.Where(query, '$',
            "findings IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(findings) WHERE json_extract(value, '$.rule_id') = $rule)", parameters);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        command.Parameters.AddWithValue("$limit", Math.Max(query.Limit, 1));
        command.CommandText = $"""
            SELECT {RecordColumns}
            FROM audit_records {where}
            ORDER BY seq {(query.OldestFirst ? "ASC" : "DESC")} LIMIT $limit
            """;
        // One read transaction: the whole result comes from one snapshot even while the gateway appends.
        await using var transaction = connection.BeginTransaction(deferred: true);
        command.Transaction = transaction;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return ReadRecord(reader);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlySet<string>> FindRequestIdsAsync(IReadOnlyCollection<string> requestIds, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (requestIds.Count == 0)
        {
            return found;
        }
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        // The time bound lets the time index find the few recent rows; the ids travel as one JSON array parameter.
        command.CommandText = "SELECT request_id FROM audit_records WHERE time >= $since AND request_id IN (SELECT value FROM json_each($ids))";
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$ids", System.Text.Json.JsonSerializer.Serialize(requestIds.ToArray(), AuditIdsJson.Default.StringArray));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found.Add(reader.GetString(0));
        }
        return found;
    }

    private static object Db(string? value) => (object?)value ?? DBNull.Value;


}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class AuditIdsJson : System.Text.Json.Serialization.JsonSerializerContext;
