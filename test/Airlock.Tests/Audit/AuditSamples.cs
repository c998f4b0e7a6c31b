using Airlock.Core.Audit;

namespace Airlock.Tests.Audit;

/// <summary>Records with every field set, for chain, export and store tests.</summary>
internal static class AuditSamples
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, 123, TimeSpan.Zero);

    public static AuditRecord Request(string requestId, DateTimeOffset time, string? user = "ada", string? session = "s-1") => new()
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
        Findings = [new AuditFinding("email", "personal-data", "system[2].text", "redact", new string('0', 64))],
    };

    public static AuditRecord ToolEvent(string requestId, DateTimeOffset time, string? eventId, string session = "s-1") => new()
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
            Command = "cat .env, \"quoted\"\nsecond line",
            CommandTruncated = true,
            Decision = ToolDecision.Deny,
            DecisionReason = "secret file: .env",
            DurationMs = 41.5,
            Cwd = "/repo",
            EventId = eventId,
        },
    };

    /// <summary>A mixed trail of <paramref name="count"/> records, chained from genesis.</summary>
    public static List<AuditRecord> Chain(int count)
    {
        var head = AuditChainHead.Genesis;
        var records = new List<AuditRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var record = i % 3 == 2 ? ToolEvent("t" + i, T0.AddSeconds(i), "evt-" + i) : Request("r" + i, T0.AddSeconds(i), i % 2 == 0 ? "ada" : "bob");
            (var chained, head) = head.Append(record);
            records.Add(chained);
        }
        return records;
    }

    public static async IAsyncEnumerable<T> Async<T>(IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            yield return item;
        }
        await Task.CompletedTask;
    }
}
