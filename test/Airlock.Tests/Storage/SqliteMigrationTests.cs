using System.Security.Cryptography;
using Airlock.Core.Audit;
using Airlock.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Airlock.Tests.Storage;

/// <summary>
/// A database written by schema 3 (hash chain, encoding version 1: identities hashed in clear, admin parameters in
/// the tool-event columns) opened by the current code: the old records keep their encoding and still verify under
/// their signed checkpoint, and records appended after the migration (version 2, and version 3 with an admin detail)
/// extend the same chain.
/// </summary>
public sealed class SqliteMigrationTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 5, 8, 0, 0, 250, TimeSpan.Zero);
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "airlock-migrate-" + Guid.NewGuid().ToString("N"));
    private readonly AuditSigningKey _key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));

    public void Dispose()
    {
        _key.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
    }

    // The schema as schema 3 left it (written out here, independently of the store's migration scripts).
    private const string Schema3 = """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY, hash BLOB NOT NULL, user_name TEXT NOT NULL, team TEXT, role TEXT NOT NULL,
            created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER, description TEXT);
        CREATE TABLE audit_records (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, time INTEGER NOT NULL, door TEXT NOT NULL,
            operation TEXT NOT NULL, key_id TEXT, user_name TEXT, team TEXT, session_id TEXT, model TEXT, upstream TEXT,
            status INTEGER NOT NULL, outcome TEXT NOT NULL, error_type TEXT, latency_ms REAL NOT NULL, ttfb_ms REAL,
            input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER, cache_creation_tokens INTEGER,
            request_bytes INTEGER NOT NULL, response_bytes INTEGER NOT NULL, body_sha256 TEXT, upstream_request_id TEXT,
            user_agent TEXT, client_address TEXT, findings TEXT,
            kind TEXT NOT NULL DEFAULT 'request', tool_event TEXT, tool_name TEXT, tool_file_paths TEXT, tool_command TEXT,
            tool_command_truncated INTEGER, tool_decision TEXT, tool_decision_reason TEXT, tool_duration_ms REAL, tool_cwd TEXT,
            tool_event_id TEXT,
            prev_hash BLOB, hash BLOB);
        CREATE INDEX ix_audit_time ON audit_records(time);
        CREATE INDEX ix_audit_user_time ON audit_records(user_name, time);
        CREATE INDEX ix_audit_session ON audit_records(session_id);
        CREATE UNIQUE INDEX ux_audit_tool_event_id ON audit_records(tool_event_id) WHERE tool_event_id IS NOT NULL;
        CREATE TABLE audit_checkpoints (seq INTEGER PRIMARY KEY, hash BLOB NOT NULL, time INTEGER NOT NULL, key_id TEXT NOT NULL, signature BLOB NOT NULL);
        PRAGMA user_version = 3;
        """;

    private static readonly AuditRecord[] Version1Records =
    [
        new()
        {
            RequestId = "v1-request", Time = T0, Door = "messages", Operation = "messages", KeyId = "AbCdEfGhIjKl", User = "ada",
            Team = "platform", Model = "claude-opus-5-5", Upstream = "main", Status = 200, Outcome = AuditOutcome.Ok, LatencyMs = 12.5,
            InputTokens = 10, OutputTokens = 2, RequestBytes = 400, ResponseBytes = 200, ClientAddress = "10.0.0.7",
        },
        new()
        {
            Kind = AuditKind.ToolEvent, RequestId = "v1-tool", Time = T0.AddSeconds(1), Door = "claude-code", Operation = "hook", User = "ada",
            Outcome = AuditOutcome.Ok, Tool = new ToolEventDetails { HookEvent = "PreToolUse", ToolName = "Read", FilePaths = ["/repo/a.cs"], EventId = "evt-1" },
        },
        new()
        {
            // Before schema 5 an admin record carried its parameters in the tool-event columns.
            Kind = AuditKind.Admin, RequestId = "v1-admin", Time = T0.AddSeconds(2), Door = "cli", Operation = "keys.create", User = "grace",
            Outcome = AuditOutcome.Ok, Tool = new ToolEventDetails { HookEvent = "admin", ToolName = "keys.create", Command = "role=developer" },
        },
    ];

    /// <summary>Writes the three version 1 records and a checkpoint over them, as schema 3 did.</summary>
    private async Task CreateSchema3DatabaseAsync()
    {
        Directory.CreateDirectory(_dataDir);
        await using var connection = new SqliteConnection("Data Source=" + Path.Combine(_dataDir, "airlock.db"));
        await connection.OpenAsync();
        using (var schema = connection.CreateCommand())
        {
            schema.CommandText = Schema3;
            await schema.ExecuteNonQueryAsync();
        }
        var previous = new byte[AuditCanonicalEncoding.HashSize];
        for (var i = 0; i < Version1Records.Length; i++)
        {
            var r = Version1Records[i];
            var seq = i + 1L;
            var hash = AuditCanonicalEncoding.Hash(r, seq, previous);
            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO audit_records (seq, request_id, time, door, operation, key_id, user_name, team, model, upstream, status, outcome,
                    latency_ms, input_tokens, output_tokens, request_bytes, response_bytes, client_address, kind, tool_event, tool_name,
                    tool_file_paths, tool_command, tool_command_truncated, tool_decision, tool_event_id, prev_hash, hash)
                VALUES ($seq, $rid, $time, $door, $op, $key, $user, $team, $model, $upstream, $status, $outcome,
                    $latency, $in, $out, $reqb, $resb, $addr, $kind, $tev, $tname, $paths, $cmd, $trunc, $decision, $evt, $prev, $hash)
                """;
            object Db(object? value) => value ?? DBNull.Value;
            insert.Parameters.AddWithValue("$seq", seq);
            insert.Parameters.AddWithValue("$rid", r.RequestId);
            insert.Parameters.AddWithValue("$time", r.Time.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$door", r.Door);
            insert.Parameters.AddWithValue("$op", r.Operation);
            insert.Parameters.AddWithValue("$key", Db(r.KeyId));
            insert.Parameters.AddWithValue("$user", Db(r.User));
            insert.Parameters.AddWithValue("$team", Db(r.Team));
            insert.Parameters.AddWithValue("$model", Db(r.Model));
            insert.Parameters.AddWithValue("$upstream", Db(r.Upstream));
            insert.Parameters.AddWithValue("$status", r.Status);
            insert.Parameters.AddWithValue("$outcome", AuditOutcomes.ToText(r.Outcome));
            insert.Parameters.AddWithValue("$latency", r.LatencyMs);
            insert.Parameters.AddWithValue("$in", Db(r.InputTokens));
            insert.Parameters.AddWithValue("$out", Db(r.OutputTokens));
            insert.Parameters.AddWithValue("$reqb", r.RequestBytes);
            insert.Parameters.AddWithValue("$resb", r.ResponseBytes);
            insert.Parameters.AddWithValue("$addr", Db(r.ClientAddress));
            insert.Parameters.AddWithValue("$kind", AuditKinds.ToText(r.Kind));
            insert.Parameters.AddWithValue("$tev", Db(r.Tool?.HookEvent));
            insert.Parameters.AddWithValue("$tname", Db(r.Tool?.ToolName));
            insert.Parameters.AddWithValue("$paths", Db(r.Tool is { FilePaths.Count: > 0 } t ? "[" + string.Join(',', t.FilePaths.Select(p => "\"" + p + "\"")) + "]" : null));
            insert.Parameters.AddWithValue("$cmd", Db(r.Tool?.Command));
            insert.Parameters.AddWithValue("$trunc", r.Tool is null ? DBNull.Value : 0);
            insert.Parameters.AddWithValue("$decision", r.Tool is null ? DBNull.Value : ToolDecisions.ToText(r.Tool.Decision));
            insert.Parameters.AddWithValue("$evt", Db(r.Tool?.EventId));
            insert.Parameters.AddWithValue("$prev", previous);
            insert.Parameters.AddWithValue("$hash", hash);
            await insert.ExecuteNonQueryAsync();
            previous = hash;
        }
        var checkpoint = _key.Sign(Version1Records.Length, previous, T0.AddMinutes(1));
        using var sign = connection.CreateCommand();
        sign.CommandText = "INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature) VALUES ($seq, $hash, $time, $key, $sig)";
        sign.Parameters.AddWithValue("$seq", checkpoint.Sequence);
        sign.Parameters.AddWithValue("$hash", Convert.FromHexString(checkpoint.Hash));
        sign.Parameters.AddWithValue("$time", checkpoint.Time.ToUnixTimeMilliseconds());
        sign.Parameters.AddWithValue("$key", checkpoint.KeyId);
        sign.Parameters.AddWithValue("$sig", Convert.FromHexString(checkpoint.Signature));
        await sign.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_schema_3_database_migrates_keeps_its_version_1_records_verifiable_and_takes_version_2_and_3_records()
    {
        await CreateSchema3DatabaseAsync();

        using var store = await SqliteStore.OpenAsync(_dataDir);
        var migrated = await AuditChainVerifier.VerifyStoreAsync(store, _key.PublicKey);
        await store.AppendAsync(
        [
            new AuditRecord { RequestId = "v2-request", Time = T0.AddDays(1), Door = "messages", Operation = "messages", User = "ada", Outcome = AuditOutcome.Ok, ClientAddress = "10.0.0.7" },
            new AuditRecord { Kind = AuditKind.Admin, RequestId = "v3-admin", Time = T0.AddDays(1), Door = "admin", Operation = "audit.list", User = "auditor", Outcome = AuditOutcome.Ok, Detail = "GET /admin/v1/audit/records?user=ada" },
        ]);
        var head = await store.GetChainHeadAsync();
        await store.AppendCheckpointAsync(_key.Sign(head.Sequence, head.Hash.Span, T0.AddDays(1)));
        var extended = await AuditChainVerifier.VerifyStoreAsync(store, _key.PublicKey);
        var records = await store.QueryAsync(new AuditQuery { OldestFirst = true, Limit = 10 });
        int version;
        await using (var connection = new SqliteConnection("Data Source=" + store.Path))
        {
            await connection.OpenAsync();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA user_version";
            version = Convert.ToInt32(await pragma.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.True(migrated.Intact, migrated.Fault?.ToString());
        Assert.Equal((3L, 1L), (migrated.Records, migrated.Checkpoints));
        Assert.True(extended.Intact, extended.Fault?.ToString());
        Assert.Equal((5L, 2L), (extended.Records, extended.Checkpoints));
        Assert.Equal(5, version);
        Assert.Equal(["v1-request", "v1-tool", "v1-admin", "v2-request", "v3-admin"], records.Select(r => r.RequestId));
        Assert.All(records.Take(3), r => Assert.Equal(1, r.Chain!.EncodingVersion));
        Assert.All(records.Skip(3), r => Assert.Equal(2, r.Chain!.EncodingVersion));
        Assert.Equal(("ada", "10.0.0.7"), (records[0].User, records[0].ClientAddress));
        Assert.Equal("role=developer", records[2].Tool!.Command);
        Assert.Null(records[2].Detail);
        Assert.Equal("GET /admin/v1/audit/records?user=ada", records[4].Detail);
        Assert.Null(records[4].Tool);
        Assert.Equal(records[2].Chain!.Hash, records[3].Chain!.PreviousHash);
    }

    [Fact]
    public async Task An_edited_version_1_record_is_still_named_after_the_migration()
    {
        await CreateSchema3DatabaseAsync();
        using var store = await SqliteStore.OpenAsync(_dataDir);
        await using (var connection = new SqliteConnection("Data Source=" + store.Path))
        {
            await connection.OpenAsync();
            using var edit = connection.CreateCommand();
            edit.CommandText = "UPDATE audit_records SET tool_command = 'role=admin' WHERE seq = 3";
            await edit.ExecuteNonQueryAsync();
        }

        var result = await AuditChainVerifier.VerifyStoreAsync(store, _key.PublicKey);

        Assert.Equal(3, result.Fault!.Sequence);
        Assert.Contains("edited", result.Fault.Reason, StringComparison.Ordinal);
    }
}
