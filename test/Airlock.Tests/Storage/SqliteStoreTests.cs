using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Airlock.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Airlock.Tests.Audit;

namespace Airlock.Tests.Storage;

public sealed class SqliteStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, 123, TimeSpan.Zero);
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "airlock-store-" + Guid.NewGuid().ToString("N"), "nested");
    private SqliteStore _store = null!;

    public async Task InitializeAsync() => _store = await SqliteStore.OpenAsync(_dataDir);

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Path.GetDirectoryName(_dataDir)!, recursive: true);
        return Task.CompletedTask;
    }

    private static KeyRecord Key(string id, string user, DateTimeOffset created, string? team = null) => new()
    {
        Id = id,
        Hash = Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + id.Length)).ToArray(),
        User = user,
        Team = team,
        Role = KeyRole.Developer,
        CreatedAt = created,
    };

    [Fact]
    public void Database_and_directory_are_private_to_the_owner()
    {
        Assert.True(File.Exists(_store.Path));
        Assert.Equal(Path.Combine(_dataDir, "airlock.db"), _store.Path);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dataDir));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_store.Path));
        }
    }

    [Fact]
    public async Task Key_round_trips_with_every_field()
    {
        var key = Key("AbCdEfGhIjKl", "ada", T0, "platform") with
        {
            Role = KeyRole.Auditor,
            ExpiresAt = T0.AddDays(90),
            Description = "CI runner",
        };

        await _store.CreateKeyAsync(key);
        var found = await _store.FindKeyAsync(key.Id);

        Assert.NotNull(found);
        Assert.Equal(key.Hash, found.Hash);
        Assert.Equal(key with { Hash = found.Hash }, found);
    }

    [Fact]
    public async Task Unknown_key_is_null_and_ids_are_case_sensitive()
    {
        await _store.CreateKeyAsync(Key("AbCdEfGhIjKl", "ada", T0));

        Assert.Null(await _store.FindKeyAsync("nope"));
        Assert.Null(await _store.FindKeyAsync("abcdefghijkl"));
    }

    [Fact]
    public async Task Duplicate_key_id_is_refused()
    {
        await _store.CreateKeyAsync(Key("AbCdEfGhIjKl", "ada", T0));

        await Assert.ThrowsAsync<SqliteException>(() => _store.CreateKeyAsync(Key("AbCdEfGhIjKl", "eve", T0)));
    }

    [Fact]
    public async Task Keys_are_listed_newest_first()
    {
        await _store.CreateKeyAsync(Key("key000000001", "a", T0));
        await _store.CreateKeyAsync(Key("key000000003", "c", T0.AddMinutes(2)));
        await _store.CreateKeyAsync(Key("key000000002", "b", T0.AddMinutes(1)));

        var keys = await _store.ListKeysAsync();

        Assert.Equal(["c", "b", "a"], keys.Select(k => k.User));
    }

    [Fact]
    public async Task Revoke_marks_once_and_only_existing_keys()
    {
        await _store.CreateKeyAsync(Key("AbCdEfGhIjKl", "ada", T0));

        Assert.True(await _store.RevokeKeyAsync("AbCdEfGhIjKl", T0.AddHours(1)));
        Assert.False(await _store.RevokeKeyAsync("AbCdEfGhIjKl", T0.AddHours(2)));
        Assert.False(await _store.RevokeKeyAsync("missing", T0));
        Assert.Equal(T0.AddHours(1), (await _store.FindKeyAsync("AbCdEfGhIjKl"))!.RevokedAt);
    }

    [Fact]
    public async Task Reopening_keeps_data()
    {
        await _store.CreateKeyAsync(Key("AbCdEfGhIjKl", "ada", T0));
        await _store.AppendAsync([AuditSamples.Request("r1", T0)]);

        var reopened = await SqliteStore.OpenAsync(_dataDir);

        Assert.NotNull(await reopened.FindKeyAsync("AbCdEfGhIjKl"));
        Assert.Single(await reopened.QueryAsync(new AuditQuery()));
    }

    [Fact]
    public async Task A_database_from_a_newer_version_is_refused()
    {
        await using (var connection = new SqliteConnection("Data Source=" + _store.Path))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99;";
            await command.ExecuteNonQueryAsync();
        }

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => SqliteStore.OpenAsync(_dataDir));
        Assert.Contains("newer", ex.Message, StringComparison.Ordinal);
    }

    private static AuditRecord ToolEvent(string requestId, DateTimeOffset time, string? eventId, string session = "s-1") => new()
    {
        Kind = AuditKind.ToolEvent,
        RequestId = requestId,
        Time = time,
        Door = "events",
        Operation = "PreToolUse",
        KeyId = "AbCdEfGhIjKl",
        User = "ada",
        Team = "platform",
        SessionId = session,
        Status = 200,
        Outcome = AuditOutcome.Blocked,
        Tool = new ToolEventDetails
        {
            HookEvent = "PreToolUse",
            ToolName = "Read",
            FilePaths = ["/repo/.env", "/repo/src/app.cs"],
            Command = "cat .env",
            CommandTruncated = true,
            Decision = ToolDecision.Deny,
            DecisionReason = "secret file: .env",
            DurationMs = 41.5,
            Cwd = "/repo",
            EventId = eventId,
        },
    };

    [Fact]
    public async Task A_version_1_database_is_migrated_and_keeps_its_records()
    {
        var dir = Path.Combine(Path.GetDirectoryName(_dataDir)!, "v1");
        Directory.CreateDirectory(dir);
        await using (var connection = new SqliteConnection("Data Source=" + Path.Combine(dir, "airlock.db")))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            // The version-1 schema as shipped (frozen here on purpose: it is what existing data dirs hold).
            command.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE api_keys (id TEXT PRIMARY KEY, hash BLOB NOT NULL, user_name TEXT NOT NULL, team TEXT, role TEXT NOT NULL,
                    created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER, description TEXT);
                CREATE TABLE audit_records (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, time INTEGER NOT NULL,
                    door TEXT NOT NULL, operation TEXT NOT NULL, key_id TEXT, user_name TEXT, team TEXT, session_id TEXT, model TEXT,
                    upstream TEXT, status INTEGER NOT NULL, outcome TEXT NOT NULL, error_type TEXT, latency_ms REAL NOT NULL, ttfb_ms REAL,
                    input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER, cache_creation_tokens INTEGER,
                    request_bytes INTEGER NOT NULL, response_bytes INTEGER NOT NULL, body_sha256 TEXT, upstream_request_id TEXT,
                    user_agent TEXT, client_address TEXT, findings TEXT);
                CREATE INDEX ix_audit_time ON audit_records(time);
                INSERT INTO api_keys VALUES ('AbCdEfGhIjKl', x'00', 'ada', NULL, 'developer', 1, NULL, NULL, NULL);
                INSERT INTO audit_records (request_id, time, door, operation, user_name, session_id, model, status, outcome, latency_ms,
                    request_bytes, response_bytes) VALUES ('old-1', 1772355600123, 'messages', 'messages', 'ada', 's-1', 'claude-opus-5-5',
                    200, 'ok', 9.5, 10, 20);
                PRAGMA user_version = 1;
                """;
            await command.ExecuteNonQueryAsync();
        }

        using var migrated = await SqliteStore.OpenAsync(dir);
        await migrated.AppendAsync([ToolEvent("t1", T0.AddSeconds(1), "evt-1")]);
        var read = await migrated.QueryAsync(new AuditQuery());

        Assert.NotNull(await migrated.FindKeyAsync("AbCdEfGhIjKl"));
        Assert.Equal(["t1", "old-1"], read.Select(r => r.RequestId));
        var old = read[1];
        Assert.Equal(AuditKind.Request, old.Kind);
        Assert.Null(old.Tool);
        Assert.Equal(T0, old.Time);
        Assert.Equal("claude-opus-5-5", old.Model);
        Assert.Equal(AuditKind.ToolEvent, read[0].Kind);
        Assert.Equal(1, old.Chain!.Sequence);
        Assert.Equal(2, read[0].Chain!.Sequence);
        Assert.Equal(old.Chain.Hash, read[0].Chain!.PreviousHash);
        using var reopened = await SqliteStore.OpenAsync(dir);
        Assert.Equal(2, (await reopened.QueryAsync(new AuditQuery())).Count);
        var verification = await AuditChainVerifier.VerifyAsync(reopened.ReadAsync(new AuditQuery { OldestFirst = true, Limit = int.MaxValue }),
            reopened.ReadCheckpointsAsync(), trustedKey: null);
        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(2, verification.Records);
    }

    [Theory]
    [InlineData(AuditKind.Request, "request")]
    [InlineData(AuditKind.ToolEvent, "tool_event")]
    [InlineData(AuditKind.Admin, "admin")]
    [InlineData(AuditKind.Purge, "purge")]
    public void Kind_text_round_trips(AuditKind kind, string text)
    {
        Assert.Equal(text, AuditKinds.ToText(kind));
        Assert.Equal(kind, AuditKinds.Parse(text));
    }

    [Theory]
    [InlineData(ToolDecision.None, "none")]
    [InlineData(ToolDecision.Allow, "allow")]
    [InlineData(ToolDecision.Deny, "deny")]
    [InlineData(ToolDecision.Ask, "ask")]
    public void Decision_text_round_trips(ToolDecision decision, string text)
    {
        Assert.Equal(text, ToolDecisions.ToText(decision));
        Assert.Equal(decision, ToolDecisions.Parse(text));
    }

    [Fact]
    public void Long_commands_are_cut_without_splitting_a_surrogate_pair()
    {
        Assert.Equal(("ls", false), ToolEventDetails.LimitCommand("ls"));
        Assert.Equal((null, false), ToolEventDetails.LimitCommand(null));
        var (cut, truncated) = ToolEventDetails.LimitCommand(new string('x', 5000));
        Assert.True(truncated);
        Assert.Equal(ToolEventDetails.MaxCommandLength, cut!.Length);
        var emoji = new string('x', ToolEventDetails.MaxCommandLength - 1) + "\U0001F600tail";
        (cut, truncated) = ToolEventDetails.LimitCommand(emoji);
        Assert.True(truncated);
        Assert.Equal(ToolEventDetails.MaxCommandLength - 1, cut!.Length);
        Assert.False(char.IsHighSurrogate(cut[^1]));
    }

    [Theory]
    [InlineData(AuditOutcome.Ok, "ok")]
    [InlineData(AuditOutcome.UpstreamError, "upstream_error")]
    [InlineData(AuditOutcome.ClientAbort, "client_abort")]
    [InlineData(AuditOutcome.Rejected, "rejected")]
    [InlineData(AuditOutcome.Blocked, "blocked")]
    public void Outcome_text_round_trips(AuditOutcome outcome, string text)
    {
        Assert.Equal(text, AuditOutcomes.ToText(outcome));
        Assert.Equal(outcome, AuditOutcomes.Parse(text));
    }

    [Fact]
    public void Unknown_outcome_text_is_refused()
    {
        Assert.Throws<FormatException>(() => AuditOutcomes.Parse("OK"));
    }
}
