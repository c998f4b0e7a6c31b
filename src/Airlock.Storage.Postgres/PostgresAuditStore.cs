using System.Runtime.CompilerServices;
using Airlock.Core.Audit;
using Npgsql;
using NpgsqlTypes;

namespace Airlock.Storage.Postgres;

/// <summary>
/// The audit trail in PostgreSQL, with the same contract as the SQLite store. Several gateway replicas may
/// append at once: every append transaction locks the single chain-head row (<c>SELECT … FOR UPDATE</c>), so
/// batches attach one after another and the chain never forks. Rows go in with binary COPY (one round trip a
/// batch). Times are Unix milliseconds and column names match SQLite, so the two stores read and hash alike.
/// </summary>
public sealed partial class PostgresAuditStore : IAuditStore, IDisposable, IAsyncDisposable
{
    // 1: chained records and checkpoints. 2: identity commitments and purge details (encoding version 2), captured content.
    // 3: admin records' detail column (chain encoding version 3).
    private const int SchemaVersion = 3;

    // Taken by every migration: replicas starting together create the schema once.
    private const long MigrationLockKey = 0x4149524C4F434B; // "AIRLOCK"

    private const string RecordColumns = """
        seq, request_id, time, door, operation, key_id, user_name, team, session_id, model, upstream,
        status, outcome, error_type, latency_ms, ttfb_ms, input_tokens, output_tokens, cache_read_tokens,
        cache_creation_tokens, request_bytes, response_bytes, body_sha256, upstream_request_id, user_agent,
        client_address, findings, kind, tool_event, tool_name, tool_file_paths, tool_command, tool_command_truncated,
        tool_decision, tool_decision_reason, tool_duration_ms, tool_cwd, tool_event_id, prev_hash, hash,
        identity_commitment, identity_salt, purge, detail
        """;

    private const string SchemaV1 = """
        CREATE TABLE IF NOT EXISTS audit_records (
            seq                    BIGINT PRIMARY KEY,
            request_id             TEXT NOT NULL,
            time                   BIGINT NOT NULL,
            door                   TEXT NOT NULL,
            operation              TEXT NOT NULL,
            key_id                 TEXT,
            user_name              TEXT,
            team                   TEXT,
            session_id             TEXT,
            model                  TEXT,
            upstream               TEXT,
            status                 INTEGER NOT NULL,
            outcome                TEXT NOT NULL,
            error_type             TEXT,
            latency_ms             DOUBLE PRECISION NOT NULL,
            ttfb_ms                DOUBLE PRECISION,
            input_tokens           BIGINT,
            output_tokens          BIGINT,
            cache_read_tokens      BIGINT,
            cache_creation_tokens  BIGINT,
            request_bytes          BIGINT NOT NULL,
            response_bytes         BIGINT NOT NULL,
            body_sha256            TEXT,
            upstream_request_id    TEXT,
            user_agent             TEXT,
            client_address         TEXT,
            findings               JSONB,
            kind                   TEXT NOT NULL,
            tool_event             TEXT,
            tool_name              TEXT,
            tool_file_paths        JSONB,
            tool_command           TEXT,
            tool_command_truncated BOOLEAN,
            tool_decision          TEXT,
            tool_decision_reason   TEXT,
            tool_duration_ms       DOUBLE PRECISION,
            tool_cwd               TEXT,
            tool_event_id          TEXT,
            prev_hash              BYTEA NOT NULL,
            hash                   BYTEA NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_audit_time ON audit_records(time);
        CREATE INDEX IF NOT EXISTS ix_audit_user_time ON audit_records(user_name, time);
        CREATE INDEX IF NOT EXISTS ix_audit_session ON audit_records(session_id);
        CREATE UNIQUE INDEX IF NOT EXISTS ux_audit_tool_event_id ON audit_records(tool_event_id) WHERE tool_event_id IS NOT NULL;
        CREATE TABLE IF NOT EXISTS audit_chain_head (
            id    INTEGER PRIMARY KEY CHECK (id = 1),
            seq   BIGINT NOT NULL,
            hash  BYTEA NOT NULL
        );
        INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex')) ON CONFLICT (id) DO NOTHING;
        CREATE TABLE IF NOT EXISTS audit_checkpoints (
            seq        BIGINT PRIMARY KEY,
            hash       BYTEA NOT NULL,
            time       BIGINT NOT NULL,
            key_id     TEXT NOT NULL,
            signature  BYTEA NOT NULL
        );
        """;

    // Identity commitments and purge details (encoding version 2); captured content, encrypted, apart from the chain.
    private const string SchemaV2 = """
        ALTER TABLE audit_records ADD COLUMN IF NOT EXISTS identity_commitment BYTEA;
        ALTER TABLE audit_records ADD COLUMN IF NOT EXISTS identity_salt BYTEA;
        ALTER TABLE audit_records ADD COLUMN IF NOT EXISTS purge JSONB;
        CREATE TABLE IF NOT EXISTS audit_content (
            request_id  TEXT PRIMARY KEY,
            time        BIGINT NOT NULL,
            user_name   TEXT,
            team        TEXT,
            mode        TEXT NOT NULL,
            period      TEXT NOT NULL,
            nonce       BYTEA NOT NULL,
            ciphertext  BYTEA NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_audit_content_time ON audit_content(time);
        CREATE INDEX IF NOT EXISTS ix_audit_content_user ON audit_content(user_name);
        CREATE TABLE IF NOT EXISTS audit_content_keys (
            period         TEXT PRIMARY KEY,
            master_key_id  TEXT NOT NULL,
            wrapped_key    BYTEA NOT NULL,
            created_at     BIGINT NOT NULL
        );
        """;

    // Admin records' own detail column (chain encoding version 3) instead of the tool-event columns.
    private const string SchemaV3 = "ALTER TABLE audit_records ADD COLUMN IF NOT EXISTS detail TEXT;";

    private readonly NpgsqlDataSource _dataSource;

    private PostgresAuditStore(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    /// <summary>Connects, creating or checking the schema. Errors name the problem, never the connection string.</summary>
    public static async Task<PostgresAuditStore> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        var dataSource = NpgsqlDataSource.Create(connectionString);
        var store = new PostgresAuditStore(dataSource);
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({MigrationLockKey});
            CREATE TABLE IF NOT EXISTS airlock_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
            """, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        int current;
        await using (var command = new NpgsqlCommand("SELECT version FROM airlock_schema WHERE component = 'audit'", connection, transaction))
        {
            current = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int v ? v : 0;
        }
        if (current > SchemaVersion)
        {
            throw new InvalidOperationException($"PostgreSQL audit schema version {current} is newer than this Airlock ({SchemaVersion}); upgrade Airlock.");
        }
        if (current < SchemaVersion)
        {
            await using var command = new NpgsqlCommand((current < 1 ? SchemaV1 : "") + (current < 2 ? SchemaV2 : "") + SchemaV3 + $"""
                INSERT INTO airlock_schema (component, version) VALUES ('audit', {SchemaVersion})
                ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version;
                """, connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // The chain-head row lock serializes appenders across replicas: the next batch starts where this one ends.
        AuditChainHead head;
        await using (var lockHead = new NpgsqlCommand("SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE", connection, transaction))
        await using (var reader = await lockHead.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("audit_chain_head row is missing: the audit schema was altered");
            }
            head = new AuditChainHead(reader.GetInt64(0), (byte[])reader.GetValue(1));
        }
        var known = await ExistingEventIdsAsync(connection, transaction, records, cancellationToken).ConfigureAwait(false);
        var chained = new List<AuditRecord>(records.Count);
        foreach (var record in records)
        {
            // Idempotent delivery: a hook that resends an event (same id) adds nothing.
            if (AuditRecordText.CleanText(record.Tool?.EventId) is { } eventId && !known.Add(eventId))
            {
                continue;
            }
            (var linked, head) = head.Append(record);
            chained.Add(linked);
        }
        if (chained.Count > 0)
        {
            await CopyAsync(connection, chained, cancellationToken).ConfigureAwait(false);
            await using var move = new NpgsqlCommand("UPDATE audit_chain_head SET seq = @seq, hash = @hash WHERE id = 1", connection, transaction);
            move.Parameters.AddWithValue("seq", head.Sequence);
            move.Parameters.AddWithValue("hash", head.Hash.ToArray());
            await move.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<HashSet<string>> ExistingEventIdsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        var ids = records.Select(r => AuditRecordText.CleanText(r.Tool?.EventId)).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
        var known = new HashSet<string>(StringComparer.Ordinal);
        if (ids.Length == 0)
        {
            return known;
        }
        await using var command = new NpgsqlCommand("SELECT tool_event_id FROM audit_records WHERE tool_event_id = ANY(@ids)", connection, transaction);
        command.Parameters.AddWithValue("ids", ids);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            known.Add(reader.GetString(0));
        }
        return known;
    }

    private static async Task CopyAsync(NpgsqlConnection connection, List<AuditRecord> records, CancellationToken cancellationToken)
    {
        await using var importer = await connection.BeginBinaryImportAsync(
            $"COPY audit_records ({RecordColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        // Synchronous row writes: they only fill Npgsql's buffer (flushed as it fills); one await per field
        // cost more than the row itself. This runs on the writer's own loop, never on a request thread.
        foreach (var r in records)
        {
            var link = r.Chain!;
            var tool = r.Tool;
            importer.StartRow();
            importer.Write(link.Sequence, NpgsqlDbType.Bigint);
            Text(importer, r.RequestId);
            importer.Write(r.Time.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
            Text(importer, r.Door);
            Text(importer, r.Operation);
            Text(importer, r.KeyId);
            Text(importer, r.User);
            Text(importer, r.Team);
            Text(importer, r.SessionId);
            Text(importer, r.Model);
            Text(importer, r.Upstream);
            importer.Write(r.Status, NpgsqlDbType.Integer);
            Text(importer, AuditOutcomes.ToText(r.Outcome));
            Text(importer, r.ErrorType);
            importer.Write(r.LatencyMs, NpgsqlDbType.Double);
            Real(importer, r.TimeToFirstByteMs);
            Long(importer, r.InputTokens);
            Long(importer, r.OutputTokens);
            Long(importer, r.CacheReadTokens);
            Long(importer, r.CacheCreationTokens);
            importer.Write(r.RequestBytes, NpgsqlDbType.Bigint);
            importer.Write(r.ResponseBytes, NpgsqlDbType.Bigint);
            Text(importer, r.BodySha256);
            Text(importer, r.UpstreamRequestId);
            Text(importer, r.UserAgent);
            Text(importer, r.ClientAddress);
            Json(importer, AuditRowLayout.FindingsJson(r.Findings));
            Text(importer, AuditKinds.ToText(r.Kind));
            Text(importer, tool?.HookEvent);
            Text(importer, tool?.ToolName);
            Json(importer, AuditRowLayout.FilePathsJson(tool));
            Text(importer, tool?.Command);
            if (tool is null)
            {
                importer.WriteNull();
            }
            else
            {
                importer.Write(tool.CommandTruncated, NpgsqlDbType.Boolean);
            }
            Text(importer, tool is null ? null : ToolDecisions.ToText(tool.Decision));
            Text(importer, tool?.DecisionReason);
            Real(importer, tool?.DurationMs);
            Text(importer, tool?.Cwd);
            Text(importer, tool?.EventId);
            importer.Write(Convert.FromHexString(link.PreviousHash), NpgsqlDbType.Bytea);
            importer.Write(Convert.FromHexString(link.Hash), NpgsqlDbType.Bytea);
            Bytes(importer, link.IdentityCommitment);
            Bytes(importer, link.IdentitySalt);
            Json(importer, AuditRowLayout.PurgeJson(r.Purge));
            Text(importer, r.Detail);
        }
        await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Text(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(value, NpgsqlDbType.Text);
        }
    }

    private static void Bytes(NpgsqlBinaryImporter importer, string? hex)
    {
        if (hex is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(Convert.FromHexString(hex), NpgsqlDbType.Bytea);
        }
    }

    private static void Json(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(value, NpgsqlDbType.Jsonb);
        }
    }

    private static void Long(NpgsqlBinaryImporter importer, long? value)
    {
        if (value is { } v)
        {
            importer.Write(v, NpgsqlDbType.Bigint);
        }
        else
        {
            importer.WriteNull();
        }
    }

    private static void Real(NpgsqlBinaryImporter importer, double? value)
    {
        if (value is { } v)
        {
            importer.Write(v, NpgsqlDbType.Double);
        }
        else
        {
            importer.WriteNull();
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<AuditRecord> ReadAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection };
        var parameters = new List<AuditQuerySql.Parameter>();
        var where = AuditQuerySql.Where(query, '@', "findings @> jsonb_build_array(jsonb_build_object('rule_id', @rule))", parameters);
        foreach (var (name, value) in parameters)
        {
            if (value is string text)
            {
                command.Parameters.AddWithValue(name, NpgsqlDbType.Text, text);
            }
            else
            {
                command.Parameters.AddWithValue(name, value);
            }
        }
        command.Parameters.AddWithValue("limit", (long)Math.Max(query.Limit, 1));
        // One statement is one snapshot in PostgreSQL: the result is consistent while replicas append.
        command.CommandText = $"""
            SELECT {RecordColumns}
            FROM audit_records {where}
            ORDER BY seq {(query.OldestFirst ? "ASC" : "DESC")} LIMIT @limit
            """;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return ReadRecord(reader);
        }
    }

    private static AuditRecord ReadRecord(NpgsqlDataReader reader) => AuditRowLayout.Read(reader);

    /// <inheritdoc/>
    public async Task<IReadOnlySet<string>> FindRequestIdsAsync(IReadOnlyCollection<string> requestIds, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (requestIds.Count == 0)
        {
            return found;
        }
        // The time bound lets the time index find the few recent rows.
        await using var command = _dataSource.CreateCommand("SELECT request_id FROM audit_records WHERE time >= @since AND request_id = ANY(@ids)");
        command.Parameters.AddWithValue("since", since.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("ids", requestIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found.Add(reader.GetString(0));
        }
        return found;
    }

    /// <inheritdoc/>
    public async Task<AuditChainHead> GetChainHeadAsync(CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("SELECT seq, hash FROM audit_chain_head WHERE id = 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new AuditChainHead(reader.GetInt64(0), (byte[])reader.GetValue(1))
            : AuditChainHead.Genesis;
    }

    /// <inheritdoc/>
    public async Task AppendCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        await using var command = _dataSource.CreateCommand("""
            INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature) VALUES (@seq, @hash, @time, @key_id, @signature)
            ON CONFLICT (seq) DO NOTHING
            """);
        command.Parameters.AddWithValue("seq", checkpoint.Sequence);
        command.Parameters.AddWithValue("hash", Convert.FromHexString(checkpoint.Hash));
        command.Parameters.AddWithValue("time", checkpoint.Time.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("key_id", checkpoint.KeyId);
        command.Parameters.AddWithValue("signature", Convert.FromHexString(checkpoint.Signature));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<AuditCheckpoint> ReadCheckpointsAsync(long toSequence = long.MaxValue, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("SELECT seq, hash, time, key_id, signature FROM audit_checkpoints WHERE seq <= @to ORDER BY seq");
        command.Parameters.AddWithValue("to", toSequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new AuditCheckpoint(reader.GetInt64(0), Convert.ToHexStringLower((byte[])reader.GetValue(1)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3), Convert.ToHexStringLower((byte[])reader.GetValue(4)));
        }
    }

    /// <summary>Closes the pooled connections.</summary>
    public void Dispose() => _dataSource.Dispose();

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
