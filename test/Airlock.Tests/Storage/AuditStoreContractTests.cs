using System.Security.Cryptography;
using Airlock.Core.Audit;
using Airlock.Tests.Audit;
using static Airlock.Tests.Audit.AuditSamples;

namespace Airlock.Tests.Storage;

/// <summary>
/// What every audit store promises (SQLite and PostgreSQL run this same suite): faithful round trips, filters,
/// idempotent tool events, a gap-free hash chain that concurrent appenders cannot fork, checkpoints, and
/// verification that names the first record tampered with directly in the database.
/// </summary>
public abstract class AuditStoreContractTests : IAsyncLifetime
{
    protected IAuditStore Store { get; private set; } = null!;

    /// <summary>Opens a fresh, empty store.</summary>
    protected abstract Task<IAuditStore> OpenStoreAsync();

    /// <summary>Opens a second store object over the same database (another process or replica).</summary>
    protected abstract Task<IAuditStore> OpenSecondStoreAsync();

    /// <summary>Runs SQL directly against the database, as an attacker with write access would.</summary>
    protected abstract Task ExecuteSqlAsync(string sql);

    public async Task InitializeAsync() => Store = await OpenStoreAsync();

    public virtual Task DisposeAsync()
    {
        (Store as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    private static void AssertSameRecord(AuditRecord expected, AuditRecord actual)
    {
        Assert.NotNull(actual.Chain);
        Assert.Equal(expected.Findings, actual.Findings);
        if (expected.Tool is null)
        {
            Assert.Null(actual.Tool);
        }
        else
        {
            Assert.NotNull(actual.Tool);
            Assert.Equal(expected.Tool.FilePaths, actual.Tool.FilePaths);
            Assert.Equal(expected.Tool with { FilePaths = actual.Tool.FilePaths }, actual.Tool);
        }
        Assert.Equal(expected with { Findings = actual.Findings, Tool = actual.Tool, Chain = actual.Chain }, actual);
    }

    private Task<IReadOnlyList<AuditRecord>> AllAsync(AuditQuery? query = null) =>
        Store.QueryAsync((query ?? new AuditQuery()) with { Limit = 100_000 });

    private Task<AuditVerification> VerifyAsync(AuditPublicKey? key = null) => AuditChainVerifier.VerifyStoreAsync(Store, key);

    [Fact]
    public async Task Find_request_ids_answers_which_ids_are_stored_since_a_time()
    {
        await Store.AppendAsync([Request("old", T0), Request("a", T0.AddMinutes(5)), Request("b", T0.AddMinutes(6)) with { Outcome = AuditOutcome.Interrupted }]);

        var found = await Store.FindRequestIdsAsync(["a", "b", "missing", "old"], T0.AddMinutes(1));
        var none = await Store.FindRequestIdsAsync([], T0);

        Assert.Equal(["a", "b"], found.Order(StringComparer.Ordinal));
        Assert.Empty(none);
        Assert.Equal(AuditOutcome.Interrupted, Assert.Single(await AllAsync(new AuditQuery { Outcome = AuditOutcome.Interrupted })).Outcome);
    }

    [Fact]
    public async Task Journal_recovery_adds_what_a_stopped_gateway_left_once_and_chained()
    {
        // audit.durable: journal over this store: a gateway that died left a final entry ("done"), a begin entry alone
        // ("cut") and an entry the store had already committed ("stored"); a second recovery finds nothing to add.
        var root = Path.Combine(Path.GetTempPath(), "airlock-contract-journal-" + Guid.NewGuid().ToString("N"));
        try
        {
            var now = DateTimeOffset.UtcNow;
            await Store.AppendAsync([Request("stored", now)]);
            var journal = Airlock.Gateway.Audit.AuditJournal.OpenInstance(root, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            foreach (var id in new[] { "done", "cut", "stored" })
            {
                var ticket = journal.Begin(Request(id, now) with { Outcome = AuditOutcome.Interrupted, Status = 0 })!;
                await ticket.Durable;
                if (id != "cut")
                {
                    Assert.True(journal.TryWriteFinal(ticket, Request(id, now)));
                }
            }
            journal.Dispose();

            var first = await Airlock.Gateway.Audit.AuditJournal.RecoverAsync(root, Store, spool: null, spoolOnFailure: false,
                Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            var again = await Airlock.Gateway.Audit.AuditJournal.RecoverAsync(root, Store, spool: null, spoolOnFailure: false,
                Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

            Assert.Equal((2, 1), (first.Recovered, first.Interrupted));
            Assert.Equal(0, again.Recovered);
            var records = (await AllAsync()).ToDictionary(r => r.RequestId);
            Assert.Equal(["cut", "done", "stored"], records.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(AuditOutcome.Interrupted, records["cut"].Outcome);
            Assert.Equal(AuditOutcome.Ok, records["done"].Outcome);
            Assert.True((await VerifyAsync()).Intact);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Request_record_round_trips_with_findings()
    {
        var record = Request("r1", T0) with
        {
            Outcome = AuditOutcome.Blocked,
            ErrorType = "blocked:aws-access-key",
            Findings =
            [
                new AuditFinding("aws-access-key", "secret", "messages[4].content[0].content", "block", new string('f', 64)),
                new AuditFinding("email", "personal-data", "system[2].text", "redact", new string('0', 64)),
            ],
        };

        await Store.AppendAsync([record]);

        AssertSameRecord(record, Assert.Single(await AllAsync()));
    }

    [Fact]
    public async Task Optional_fields_round_trip_as_null()
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

        await Store.AppendAsync([record]);

        AssertSameRecord(record, Assert.Single(await AllAsync()));
    }

    [Fact]
    public async Task Tool_events_round_trip_with_every_field_and_with_only_the_hook_name()
    {
        var full = ToolEvent("t1", T0, "evt-1");
        var minimal = new AuditRecord
        {
            Kind = AuditKind.ToolEvent,
            RequestId = "t-min",
            Time = T0,
            Door = "events",
            Operation = "SessionStart",
            Outcome = AuditOutcome.Ok,
            Tool = new ToolEventDetails { HookEvent = "SessionStart" },
        };

        await Store.AppendAsync([full, minimal]);
        var read = await AllAsync(new AuditQuery { OldestFirst = true });

        AssertSameRecord(full, read[0]);
        AssertSameRecord(minimal, read[1]);
    }

    [Fact]
    public async Task Every_kind_and_outcome_round_trips_and_filters()
    {
        var kinds = Enum.GetValues<AuditKind>();
        var outcomes = Enum.GetValues<AuditOutcome>();
        await Store.AppendAsync([.. kinds.Select((k, i) => Request("k" + i, T0) with { Kind = k })]);
        await Store.AppendAsync([.. outcomes.Select((o, i) => Request("o" + i, T0) with { Outcome = o })]);

        foreach (var kind in kinds.Skip(1))
        {
            Assert.Equal([kind], (await AllAsync(new AuditQuery { Kind = kind })).Select(r => r.Kind));
        }
        foreach (var outcome in outcomes)
        {
            Assert.Contains(outcome, (await AllAsync(new AuditQuery { Outcome = outcome })).Select(r => r.Outcome));
            Assert.All(await AllAsync(new AuditQuery { Outcome = outcome }), r => Assert.Equal(outcome, r.Outcome));
        }
    }

    [Fact]
    public async Task Filters_combine_newest_first_by_default()
    {
        await Store.AppendAsync(
        [
            Request("a1", T0, "ada", "s-1"),
            Request("b1", T0.AddMinutes(1), "bob", "s-2") with { Team = "infra", Model = "claude-haiku-5", Upstream = "bedrock" },
            Request("a2", T0.AddMinutes(2), "ada", "s-3") with { Findings = [new AuditFinding("aws-access-key", "secret", "m", "block", "h")] },
            Request("a3", T0.AddMinutes(3), "ada", "s-1"),
        ]);

        Assert.Equal(["a3", "a2", "b1", "a1"], (await AllAsync()).Select(r => r.RequestId));
        Assert.Equal(["a1", "b1", "a2", "a3"], (await AllAsync(new AuditQuery { OldestFirst = true })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a2", "a1"], (await AllAsync(new AuditQuery { User = "ada" })).Select(r => r.RequestId));
        Assert.Equal(["b1"], (await AllAsync(new AuditQuery { Team = "infra" })).Select(r => r.RequestId));
        Assert.Equal(["b1"], (await AllAsync(new AuditQuery { Model = "claude-haiku-5" })).Select(r => r.RequestId));
        Assert.Equal(["b1"], (await AllAsync(new AuditQuery { Upstream = "bedrock" })).Select(r => r.RequestId));
        Assert.Equal(["a2"], (await AllAsync(new AuditQuery { FindingRule = "aws-access-key" })).Select(r => r.RequestId));
        Assert.Equal(["a3", "b1", "a1"], (await AllAsync(new AuditQuery { FindingRule = "email" })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a1"], (await AllAsync(new AuditQuery { SessionId = "s-1" })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a2", "b1"], (await AllAsync(new AuditQuery { Since = T0.AddMinutes(1) })).Select(r => r.RequestId));
        Assert.Equal(["b1", "a1"], (await AllAsync(new AuditQuery { Until = T0.AddMinutes(2) })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a2"], (await AllAsync(new AuditQuery { User = "ada", Since = T0.AddMinutes(2) })).Select(r => r.RequestId));
        Assert.Equal(["a2"], (await AllAsync(new AuditQuery { RequestId = "a2" })).Select(r => r.RequestId));
        Assert.Equal(["b1", "a1"], (await AllAsync(new AuditQuery { ToSequence = 2 })).Select(r => r.RequestId));
        Assert.Equal(["a3", "a2"], (await Store.QueryAsync(new AuditQuery { Limit = 2 })).Select(r => r.RequestId));
        Assert.Empty(await AllAsync(new AuditQuery { User = "nobody" }));
        Assert.Empty(await AllAsync(new AuditQuery { User = "ada' OR '1'='1" }));
    }

    [Fact]
    public async Task Session_timeline_interleaves_model_calls_and_tool_events()
    {
        await Store.AppendAsync(
        [
            Request("m1", T0, session: "s-9"),
            ToolEvent("t1", T0.AddSeconds(1), "evt-1", session: "s-9"),
            Request("other", T0.AddSeconds(2), session: "s-8"),
            Request("m2", T0.AddSeconds(3), session: "s-9"),
        ]);

        var read = await AllAsync(new AuditQuery { SessionId = "s-9" });

        Assert.Equal(["m2", "t1", "m1"], read.Select(r => r.RequestId));
        Assert.Equal([AuditKind.Request, AuditKind.ToolEvent, AuditKind.Request], read.Select(r => r.Kind));
    }

    [Fact]
    public async Task A_redelivered_tool_event_is_stored_once_and_the_chain_has_no_hole()
    {
        await Store.AppendAsync([ToolEvent("t1", T0, "evt-1"), ToolEvent("t2", T0, "evt-1"), ToolEvent("t3", T0, "evt-2")]);
        await Store.AppendAsync([ToolEvent("t4", T0.AddSeconds(1), "evt-2"), ToolEvent("t5", T0.AddSeconds(1), null), ToolEvent("t6", T0.AddSeconds(1), null)]);

        var read = await AllAsync();

        Assert.Equal(["t6", "t5", "t3", "t1"], read.Select(r => r.RequestId));
        Assert.Equal([4L, 3, 2, 1], read.Select(r => r.Chain!.Sequence));
        Assert.True((await VerifyAsync()).Intact);
    }

    [Fact]
    public async Task Nul_characters_and_lone_surrogates_are_stored_as_replacement_characters_and_still_verify()
    {
        var record = ToolEvent("t\0", T0, "evt\0") with { UserAgent = "agent\ud800x", Tool = ToolEvent("t", T0, "evt\0").Tool! with { Command = "a\0b\U0001F600" } };

        await Store.AppendAsync([record]);
        await Store.AppendAsync([record with { RequestId = "again" }]);
        var read = Assert.Single(await AllAsync());

        Assert.Equal("t\uFFFD", read.RequestId);
        Assert.Equal("agent\uFFFDx", read.UserAgent);
        Assert.Equal("a\uFFFDb\U0001F600", read.Tool!.Command);
        Assert.Equal("evt\uFFFD", read.Tool.EventId);
        Assert.True((await VerifyAsync()).Intact);
    }

    [Fact]
    public async Task Appending_nothing_is_a_no_op()
    {
        await Store.AppendAsync([]);

        Assert.Empty(await AllAsync());
        Assert.Equal(0, (await Store.GetChainHeadAsync()).Sequence);
    }

    [Fact]
    public async Task Records_are_chained_from_genesis_with_a_head_that_follows()
    {
        var trail = Chain(7).Select(r => r with { Chain = null }).ToList();
        await Store.AppendAsync(trail[..3]);
        await Store.AppendAsync(trail[3..]);

        var read = await AllAsync(new AuditQuery { OldestFirst = true });
        var head = await Store.GetChainHeadAsync();
        // Each record gets a random identity salt when appended: chaining the same records with the salts the store
        // chose must give the store's links exactly.
        var expected = new List<AuditRecord>();
        var rechained = AuditChainHead.Genesis;
        for (var i = 0; i < trail.Count; i++)
        {
            (var record, rechained) = rechained.Append(trail[i] with { Chain = new AuditChainLink(0, "", "", null, read[i].Chain!.IdentitySalt) });
            expected.Add(record);
        }

        Assert.Equal(expected.Select(r => r.Chain), read.Select(r => r.Chain));
        Assert.Equal(7, head.Sequence);
        Assert.Equal(expected[^1].Chain!.Hash, Convert.ToHexStringLower(head.Hash.Span));
    }

    [Fact]
    public async Task Concurrent_appenders_on_two_connections_do_not_fork_the_chain()
    {
        var second = await OpenSecondStoreAsync();
        try
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(b =>
                (b % 2 == 0 ? Store : second).AppendAsync([.. Enumerable.Range(0, 25).Select(i => Request($"b{b}-{i}", T0.AddSeconds(i)))])));
        }
        finally
        {
            (second as IDisposable)?.Dispose();
        }

        var read = await AllAsync(new AuditQuery { OldestFirst = true });
        var verification = await VerifyAsync();

        Assert.Equal(200, read.Select(r => r.RequestId).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), read.Select(r => r.Chain!.Sequence));
        Assert.True(verification.Intact, verification.Fault?.ToString());
    }

    [Fact]
    public async Task Checkpoints_round_trip_and_a_repeat_is_ignored()
    {
        using var key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));
        await Store.AppendAsync(Chain(5).Select(r => r with { Chain = null }).ToList());
        var head = await Store.GetChainHeadAsync();
        var checkpoint = key.Sign(head.Sequence, head.Hash.Span, T0);

        await Store.AppendCheckpointAsync(checkpoint);
        await Store.AppendCheckpointAsync(key.Sign(head.Sequence, head.Hash.Span, T0.AddMinutes(1)));
        var stored = new List<AuditCheckpoint>();
        await foreach (var c in Store.ReadCheckpointsAsync())
        {
            stored.Add(c);
        }
        var verification = await VerifyAsync(key.PublicKey);

        Assert.Equal([checkpoint], stored);
        Assert.True(verification.Intact, verification.Fault?.ToString());
        Assert.Equal(1, verification.Checkpoints);
    }

    private async Task<AuditSigningKey> TrailWithCheckpointAsync(int records, long checkpointAt)
    {
        var key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));
        var trail = Chain(records).Select(r => r with { Chain = null }).ToList();
        await Store.AppendAsync(trail[..(int)checkpointAt]);
        var head = await Store.GetChainHeadAsync();
        await Store.AppendCheckpointAsync(key.Sign(head.Sequence, head.Hash.Span, T0));
        await Store.AppendAsync(trail[(int)checkpointAt..]);
        Assert.True((await VerifyAsync(key.PublicKey)).Intact);
        return key;
    }

    [Fact]
    public async Task An_edited_row_is_named()
    {
        using var key = await TrailWithCheckpointAsync(10, 8);

        await ExecuteSqlAsync("UPDATE audit_records SET user_name = 'mallory' WHERE seq = 5");
        var fault = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.Equal(5, fault!.Sequence);
        Assert.Equal("r4", fault.RequestId);
        Assert.Contains("edited", fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_row_is_named()
    {
        using var key = await TrailWithCheckpointAsync(10, 8);

        await ExecuteSqlAsync("DELETE FROM audit_records WHERE seq = 3");
        var fault = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.Equal(4, fault!.Sequence);
        Assert.Contains("missing", fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Swapped_rows_are_named()
    {
        using var key = await TrailWithCheckpointAsync(10, 8);

        await ExecuteSqlAsync("UPDATE audit_records SET seq = -1 WHERE seq = 4");
        await ExecuteSqlAsync("UPDATE audit_records SET seq = 4 WHERE seq = 5");
        await ExecuteSqlAsync("UPDATE audit_records SET seq = 5 WHERE seq = -1");
        var fault = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.Equal(4, fault!.Sequence);
    }

    [Fact]
    public async Task A_truncated_tail_under_a_checkpoint_is_named()
    {
        using var key = await TrailWithCheckpointAsync(10, 8);

        await ExecuteSqlAsync("DELETE FROM audit_records WHERE seq >= 7");
        var fault = (await VerifyAsync(key.PublicKey)).Fault;

        Assert.Equal(8, fault!.Sequence);
        Assert.Contains("removed from the end", fault.Reason, StringComparison.Ordinal);
    }
}
