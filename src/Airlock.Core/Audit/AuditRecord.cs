using System.Text.Json.Serialization;

namespace Airlock.Core.Audit;

/// <summary>How a request ended, from the organization's point of view.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AuditOutcome>))]
public enum AuditOutcome
{
    /// <summary>The upstream answered and the whole answer reached the client.</summary>
    [JsonStringEnumMemberName("ok")]
    Ok,

    /// <summary>The upstream refused, failed, timed out or died mid-stream.</summary>
    [JsonStringEnumMemberName("upstream_error")]
    UpstreamError,

    /// <summary>The client went away before the answer was complete; the upstream request was cancelled.</summary>
    [JsonStringEnumMemberName("client_abort")]
    ClientAbort,

    /// <summary>The gateway refused the request (authentication, validation, routing, limits).</summary>
    [JsonStringEnumMemberName("rejected")]
    Rejected,

    /// <summary>Inspection refused the request (a finding whose action is block).</summary>
    [JsonStringEnumMemberName("blocked")]
    Blocked,

    /// <summary>
    /// The gateway stopped (crash, kill, power loss) while the request was with the upstream, and only the record written
    /// before forwarding it survived (the audit journal's begin entry): who, when, model, upstream, body hash and request
    /// findings are known; how it ended is not.
    /// </summary>
    [JsonStringEnumMemberName("interrupted")]
    Interrupted,
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
        AuditOutcome.Interrupted => "interrupted",
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
        "interrupted" => AuditOutcome.Interrupted,
        _ => throw new FormatException($"unknown audit outcome '{text}'"),
    };
}

/// <summary>
/// One entry of the audit trail: a model call (<see cref="AuditKind.Request"/>), a Claude Code tool
/// event, an administrative action or a purge. Holds metadata only: no prompt or answer content, no
/// credential. Findings carry rule id, location and a keyed hash, never the matched value.
/// </summary>
public sealed record AuditRecord
{
    /// <summary>What this record is about; model calls (the default) fill the request fields, tool events fill <see cref="Tool"/>.</summary>
    public AuditKind Kind { get; init; } = AuditKind.Request;

    /// <summary>Gateway-assigned request id (also returned to the client as <c>x-airlock-request-id</c>).</summary>
    public required string RequestId { get; init; }

    /// <summary>When the request arrived.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>Front door: <c>messages</c>, <c>bedrock</c>, <c>vertex</c>, …</summary>
    public required string Door { get; init; }

    /// <summary>Operation: <c>messages</c>, <c>count_tokens</c>, <c>models</c>.</summary>
    public required string Operation { get; init; }

    /// <summary>Key id that authenticated the request (null when authentication failed before a key was found).</summary>
    public string? KeyId { get; init; }

    /// <summary>Key owner.</summary>
    public string? User { get; init; }

    /// <summary>Key team.</summary>
    public string? Team { get; init; }

    /// <summary>Claude Code session (<c>X-Claude-Code-Session-Id</c>).</summary>
    public string? SessionId { get; init; }

    /// <summary>Model requested by the client.</summary>
    public string? Model { get; init; }

    /// <summary>Upstream name the request was sent to.</summary>
    public string? Upstream { get; init; }

    /// <summary>HTTP status returned to the client.</summary>
    public int Status { get; init; }

    /// <summary>How the request ended.</summary>
    public required AuditOutcome Outcome { get; init; }

    /// <summary>Machine-readable reason for a non-ok outcome (e.g. <c>authentication_error:revoked</c>, <c>upstream_timeout</c>).</summary>
    public string? ErrorType { get; init; }

    /// <summary>Total time from request arrival to the last byte, in milliseconds.</summary>
    public double LatencyMs { get; init; }

    /// <summary>Time from request arrival to the first response byte from the upstream, in milliseconds.</summary>
    public double? TimeToFirstByteMs { get; init; }

    /// <summary>Input tokens reported by the upstream (<c>message_start.usage</c>).</summary>
    public long? InputTokens { get; init; }

    /// <summary>Output tokens reported by the upstream (final <c>message_delta.usage</c>).</summary>
    public long? OutputTokens { get; init; }

    /// <summary>Prompt-cache read tokens.</summary>
    public long? CacheReadTokens { get; init; }

    /// <summary>Prompt-cache write tokens.</summary>
    public long? CacheCreationTokens { get; init; }

    /// <summary>Size of the request body received from the client.</summary>
    public long RequestBytes { get; init; }

    /// <summary>Size of the response body sent to the client.</summary>
    public long ResponseBytes { get; init; }

    /// <summary>Lowercase hex SHA-256 of the request body as received (proves what was sent without storing it).</summary>
    public string? BodySha256 { get; init; }

    /// <summary>Upstream's request id (<c>request-id</c> response header), to correlate with provider logs.</summary>
    public string? UpstreamRequestId { get; init; }

    /// <summary>Client user agent (e.g. <c>claude-cli/2.1.330</c>).</summary>
    public string? UserAgent { get; init; }

    /// <summary>Client address.</summary>
    public string? ClientAddress { get; init; }

    /// <summary>Inspection findings (empty when inspection found nothing or is off).</summary>
    public IReadOnlyList<AuditFinding> Findings { get; init; } = [];

    /// <summary>The Claude Code hook event, for <see cref="AuditKind.ToolEvent"/> records (null otherwise).</summary>
    public ToolEventDetails? Tool { get; init; }

    /// <summary>
    /// Admin records: what the action was given (the HTTP request line with its normalized filter, a gap's counts, a
    /// key's owner and role). Never a secret. Covered by encoding version 3, which a record has exactly when this is set;
    /// admin records written before schema 5 keep these parameters in <see cref="Tool"/> and their original encoding.
    /// Tool events: the hook's policy version and a prompt's length (<c>policy_version=… prompt_length=…</c>).
    /// </summary>
    public string? Detail { get; init; }

    /// <summary>What a <see cref="AuditKind.Purge"/> record removed (null otherwise). Covered by encoding version 2 only.</summary>
    public AuditPurgeDetails? Purge { get; init; }

    /// <summary>
    /// Where the record sits in the hash chain; set by the store when the record is appended (null on a record
    /// not yet stored). Not part of the record's own content: see <see cref="AuditCanonicalEncoding"/>.
    /// </summary>
    public AuditChainLink? Chain { get; init; }
}

/// <summary>One inspection finding as recorded: never the value, only where and a keyed hash of it.</summary>
/// <param name="RuleId">Rule that matched.</param>
/// <param name="Category">secret, personal-data or organization-term.</param>
/// <param name="Location">JSON location, e.g. <c>messages[4].content[0].content</c>, or <c>response:content[0].text</c>.</param>
/// <param name="Action">alert, redact or block.</param>
/// <param name="ValueHash">HMAC-SHA256 of the value under the gateway's finding key (hex).</param>
public sealed record AuditFinding(string RuleId, string Category, string Location, string Action, string ValueHash);

/// <summary>Filters for reading the trail. Every filter is optional; set ones must all match.</summary>
public sealed record AuditQuery
{
    /// <summary>Only this user.</summary>
    public string? User { get; init; }

    /// <summary>Only this team.</summary>
    public string? Team { get; init; }

    /// <summary>Only this Claude Code session.</summary>
    public string? SessionId { get; init; }

    /// <summary>Only this requested model.</summary>
    public string? Model { get; init; }

    /// <summary>Only requests routed to this upstream.</summary>
    public string? Upstream { get; init; }

    /// <summary>Only records with a finding of this rule.</summary>
    public string? FindingRule { get; init; }

    /// <summary>Only this outcome.</summary>
    public AuditOutcome? Outcome { get; init; }

    /// <summary>Only records of this kind.</summary>
    public AuditKind? Kind { get; init; }

    /// <summary>Only the record(s) with this request id.</summary>
    public string? RequestId { get; init; }

    /// <summary>Only records at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only records before this time.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Only records at or before this sequence (a consistent cut of a live trail).</summary>
    public long? ToSequence { get; init; }

    /// <summary>Chain order (oldest first) instead of the default newest first.</summary>
    public bool OldestFirst { get; init; }

    /// <summary>Most records to return.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>True when any filter other than the limit, order or sequence cut is set (the result is a partial trail).</summary>
    public bool IsFiltered => User is not null || Team is not null || SessionId is not null || Model is not null || Upstream is not null
        || FindingRule is not null || Outcome is not null || Kind is not null || RequestId is not null || Since is not null || Until is not null;
}

/// <summary>
/// Persistence of the audit trail: an append-only, hash-chained sequence of records (the store assigns each
/// record its <see cref="AuditRecord.Chain"/> link inside the append transaction, so concurrent writers cannot
/// fork the chain) and the signed checkpoints over it.
/// </summary>
public interface IAuditStore
{
    /// <summary>
    /// Appends records durably, in one transaction, chaining each to the one before. A tool event whose
    /// <see cref="ToolEventDetails.EventId"/> is already stored (or repeated within the batch) is skipped, so a hook
    /// may redeliver an event safely.
    /// </summary>
    Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken = default);

    /// <summary>Streams records matching <paramref name="query"/> from one snapshot, without holding them in memory.</summary>
    IAsyncEnumerable<AuditRecord> ReadAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>The last record's sequence and hash (<see cref="AuditChainHead.Genesis"/> for an empty trail).</summary>
    Task<AuditChainHead> GetChainHeadAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores a signed checkpoint; a checkpoint for a sequence already checkpointed is ignored.</summary>
    Task AppendCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default);

    /// <summary>Streams the checkpoints up to <paramref name="toSequence"/>, in sequence order.</summary>
    IAsyncEnumerable<AuditCheckpoint> ReadCheckpointsAsync(long toSequence = long.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>
    /// Which of <paramref name="requestIds"/> already have a record timed at or after <paramref name="since"/> (audit
    /// journal recovery: what a crash left half-done). The stores answer from their time index; this default reads the
    /// records since then.
    /// </summary>
    async Task<IReadOnlySet<string>> FindRequestIdsAsync(IReadOnlyCollection<string> requestIds, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        var wanted = new HashSet<string>(requestIds, StringComparer.Ordinal);
        var found = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var record in ReadAsync(new AuditQuery { Since = since, Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false))
        {
            if (wanted.Contains(record.RequestId))
            {
                found.Add(record.RequestId);
            }
        }
        return found;
    }
}
