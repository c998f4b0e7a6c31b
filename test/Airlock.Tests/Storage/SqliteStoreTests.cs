using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Airlock.Storage.Sqlite;
using Microsoft.Data.Sqlite;

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

    private static AuditRecord Record(string requestId, DateTimeOffset time, string? user = "ada", string? session = "s-1") => new()
    {
        RequestId = requestId,
        Time = time,
        Door = "messages",
        Operation = "messages",
        KeyId = "AbCdEfGhIjKl",
        User = user,
        Team = "platform",
        SessionId = session,
        Model = "claude-opus-5-5",
        Upstream = "main",
        Status = 200,
        Outcome = AuditOutcome.Ok,
        LatencyMs = 12.5,
        TimeToFirstByteMs = 3.25,
        InputTokens = 100,
        OutputTokens = 20,
        CacheReadTokens = 5,
        CacheCreationTokens = 6,
        RequestBytes = 4096,
        ResponseBytes = 2048,
        BodySha256 = new string('a', 64),
        UpstreamRequestId = "req_123",
        UserAgent = "claude-cli/2.1.330",
        ClientAddress = "127.0.0.1",
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
    public async Task Audit_record_round_trips_with_findings()
    {
        var record = Record("r1", T0) with
        {
            Outcome = AuditOutcome.Blocked,
            ErrorType = "blocked:aws-access-key",
            Findings =
            [
                new AuditFinding("aws-access-key", "secret", "messages[4].content[0].content", "block", new string('f', 64)),
                new AuditFinding("email", "personal-data", "system[2].text", "redact", new string('0', 64)),
            ],
        };

        await _store.AppendAsync([record]);
        var read = Assert.Single(await _store.QueryAsync(new AuditQuery()));

        Assert.Equal(record.Findings, read.Findings);
        Assert.Equal(record with { Findings = read.Findings }, read);
    }

    [Fact]
    public async Task Optional_audit_fields_round_trip_as_null()
    {
        var record = new AuditRecord
        {
            RequestId = "r-min",
            Time = T0,
            Door = "messages",
            Operation = "models",
            Outcome = AuditOutcome.Rejected,
            Status = 401,
            ErrorType = "auth_missing",
        };

        await _store.AppendAsync([record]);
        var read = Assert.Single(await _store.QueryAsync(new AuditQuery()));

        Assert.Empty(read.Findings);
        Assert.Equal(record with { Findings = read.Findings }, read);
    }

    [Fact]
    public async Task Every_outcome_round_trips()
    {
        var outcomes = Enum.GetValues<AuditOutcome>();
        await _store.AppendAsync([.. outcomes.Select((o, i) => Record("r" + i, T0) with { Outcome = o })]);

        var read = await _store.QueryAsync(new AuditQuery());

        Assert.Equal(outcomes.Reverse(), read.Select(r => r.Outcome));
    }

    [Fact]
    public async Task Query_filters_by_user_session_and_time_newest_first()
    {
        await _store.AppendAsync(
        [
            Record("a1", T0, "ada", "s-1"),
            Record("b1", T0.AddMinutes(1), "bob", "s-2"),
            Record("a2", T0.AddMinutes(2), "ada", "s-3"),
            Record("a3", T0.AddMinutes(3), "ada", "s-1"),
        ]);

        Assert.Equal(["a3", "a2", "b1", "a1"], (await _store.QueryAsync(new AuditQuery())).Select(r => r.RequestId));
        Assert.Equal(["a3", "a2", "a1"], (await _store.QueryAsync(new AuditQuery { User = "ada" })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a1"], (await _store.QueryAsync(new AuditQuery { SessionId = "s-1" })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a2", "b1"], (await _store.QueryAsync(new AuditQuery { Since = T0.AddMinutes(1) })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a2"], (await _store.QueryAsync(new AuditQuery { User = "ada", Since = T0.AddMinutes(2) })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a2"], (await _store.QueryAsync(new AuditQuery { Limit = 2 })).Select(r => r.RequestId));
        Assert.Empty(await _store.QueryAsync(new AuditQuery { User = "nobody" }));
        Assert.Empty(await _store.QueryAsync(new AuditQuery { User = "ada' OR '1'='1" }));
    }

    [Fact]
    public async Task Appending_nothing_is_a_no_op()
    {
        await _store.AppendAsync([]);

        Assert.Empty(await _store.QueryAsync(new AuditQuery()));
    }

    [Fact]
    public async Task Concurrent_batches_are_all_kept()
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(b =>
            _store.AppendAsync([.. Enumerable.Range(0, 50).Select(i => Record($"b{b}-{i}", T0.AddSeconds(i)))])));

        var read = await _store.QueryAsync(new AuditQuery { Limit = 1000 });

        Assert.Equal(200, read.Select(r => r.RequestId).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Reopening_keeps_data()
    {
        await _store.CreateKeyAsync(Key("AbCdEfGhIjKl", "ada", T0));
        await _store.AppendAsync([Record("r1", T0)]);

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
